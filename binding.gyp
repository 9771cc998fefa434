{
  "targets": [
    {
      "target_name": "keyward_pkcs11",
      "sources": [
        "native/addon.cc",
        "native/ckr.cc",
        "native/locks.cc",
        "native/module.cc",
        "native/ops.cc",
        "native/pool.cc"
      ],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "defines": ["NAPI_VERSION=8"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "libraries": ["-ldl", "-lpthread"]
    }
  ]
}
