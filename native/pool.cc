#include "pool.h"

#include <string.h>

#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "addon.h"
#include "module.h"
#include "ops.h"
#include "openssl_errors.h"

namespace {

constexpr uint32_t kMaxSessions = 64;
constexpr double kMaxSafeInteger = 9007199254740991.0;  // 2^53 - 1: larger handles would lose bits in a JS number

struct Item {
  Bytes iv;
  Bytes aad;
  Bytes data;
  Bytes signature;
};

}  // namespace

// One call from JS: its arguments copied into C++ buffers on the JS thread (the baton), its results,
// and its promise. Pool threads only touch the C++ fields; the promise is settled on the JS thread.
struct Job {
  Job(Napi::Env env, OpKind kind, bool batch) : kind(kind), batch(batch), deferred(Napi::Promise::Deferred::New(env)) {}

  OpKind kind;
  bool batch;
  CK_OBJECT_HANDLE key = 0;
  SignMechanism mechanism;
  std::vector<Item> items;
  std::vector<Bytes> outputs;
  std::vector<uint8_t> verdicts;

  // Items are claimed one at a time by whichever threads hold this job (a batch is queued once per
  // thread, so it spreads over the pool); the thread that drops the last queue entry hands it back to JS.
  std::atomic<size_t> next{0};
  std::atomic<size_t> entriesLeft{0};

  // The lowest failed item. Items after it are skipped; items before it still run, so the failure
  // reported is always the batch's first, whatever order the threads finish in.
  static constexpr size_t kNone = SIZE_MAX;
  std::atomic<size_t> firstFailed{kNone};
  std::mutex failureMutex;
  Failure failure;

  Napi::Promise::Deferred deferred;

  bool Skips(size_t index) const { return index > firstFailed.load(); }
  bool Failed() const { return firstFailed.load() != kNone; }
  void Fail(size_t index, Failure f) {
    std::lock_guard<std::mutex> lock(failureMutex);
    if (index < firstFailed.load()) {
      failure = std::move(f);
      firstFailed = index;
    }
  }
};

void CompleteJob(Napi::Env env, Napi::Function, Core* core, Job* job);
void Settle(Napi::Env env, Job* job);
using Completion = Napi::TypedThreadSafeFunction<Core, Job, CompleteJob>;

// The pool proper, shared by the JS object and the thread-safe function that carries completions back,
// so it outlives whichever of the two goes last.
struct Core {
  LoadedModule* module = nullptr;
  CK_FUNCTION_LIST* fn = nullptr;
  std::vector<CK_SESSION_HANDLE> sessions;
  std::vector<std::thread> threads;
  std::mutex joinMutex;

  std::mutex mutex;
  std::condition_variable wake;
  std::deque<Job*> queue;
  bool stopping = false;
  std::atomic<bool> closing{false};

  // JS thread only.
  napi_env env = nullptr;
  Completion completion;
  size_t pending = 0;  // jobs submitted and not yet settled; the loop is kept alive while > 0
  bool shutDown = false;

  void Run(size_t index);
  void RunItem(Job* job, size_t i, CK_SESSION_HANDLE session);
  void Enqueue(Job* job);
  void StopThreads();
  void Shutdown();
  static void OnEnvTeardown(void* core) { static_cast<Core*>(core)->Shutdown(); }
};

void Core::Run(size_t index) {
  CK_SESSION_HANDLE session = sessions[index];
  for (;;) {
    Job* job;
    {
      std::unique_lock<std::mutex> lock(mutex);
      wake.wait(lock, [this] { return stopping || !queue.empty(); });
      if (queue.empty()) return;  // stopping, and every queued job has been handed back
      job = queue.front();
      queue.pop_front();
    }
    for (size_t i; (i = job->next.fetch_add(1)) < job->items.size();) RunItem(job, i, session);
    if (job->entriesLeft.fetch_sub(1) == 1) completion.NonBlockingCall(job);
  }
}

void Core::RunItem(Job* job, size_t i, CK_SESSION_HANDLE session) {
  if (job->Skips(i)) return;
  if (closing) {
    job->Fail(i, Failure::Other("the session pool was closed before the operation ran"));
    return;
  }
  Item& item = job->items[i];
  Outcome outcome{CKR_OK, nullptr};
  switch (job->kind) {
    case OpKind::Encrypt:
    case OpKind::Decrypt:
      outcome = AesGcm(fn, session, job->key, job->kind == OpKind::Encrypt, item.iv, item.aad, item.data,
                       &job->outputs[i]);
      break;
    case OpKind::Sign:
      outcome = ::Sign(fn, session, job->key, job->mechanism, item.data, &job->outputs[i]);
      break;
    case OpKind::Verify: {
      bool valid = false;
      outcome = ::Verify(fn, session, job->key, job->mechanism, item.data, item.signature, &valid);
      job->verdicts[i] = valid ? 1 : 0;
      break;
    }
  }
  item.data.Wipe();
  if (outcome.rv != CKR_OK) job->Fail(i, Failure::Ckr(outcome.method, outcome.rv));
}

void Core::Enqueue(Job* job) {
  size_t entries = std::min(job->items.size(), threads.size());
  job->entriesLeft = entries;
  if (pending++ == 0) completion.Ref(Napi::Env(env));
  {
    std::lock_guard<std::mutex> lock(mutex);
    for (size_t e = 0; e < entries; e++) queue.push_back(job);
  }
  if (entries == 1) {
    wake.notify_one();
  } else {
    wake.notify_all();
  }
}

namespace {

// Pools whose threads run, for the exit handler below.
std::mutex liveMutex;
std::set<Core*> live;

// exit() (process.exit() does not tear the environment down, so no cleanup hook runs) destroys the
// module's static objects while pool threads may be inside it, which crashes. This handler, registered
// after each module load and so run before that module's destructors, lets those threads finish first.
void StopAllPools() {
  std::lock_guard<std::mutex> lock(liveMutex);
  for (Core* core : live) core->StopThreads();
}

}  // namespace

// Queued work is rejected, an operation in progress finishes, the threads end. Idempotent.
void Core::StopThreads() {
  closing = true;
  {
    std::lock_guard<std::mutex> lock(mutex);
    stopping = true;
  }
  wake.notify_all();
  // The exit handler (any thread that calls exit()) and a worker's close() may both get here.
  std::lock_guard<std::mutex> lock(joinMutex);
  for (std::thread& t : threads) {
    if (t.joinable()) t.join();
  }
}

// Stops the threads, closes the sessions and lets go of the module. Login state is not ended with
// C_Logout: it belongs to the whole application (spec §5.6), so other sessions on the token (another
// pool, pkcs11js) would lose it; closing the application's last session on the token returns it to
// public anyway (C_CloseSession).
void Core::Shutdown() {
  if (shutDown) return;
  shutDown = true;
  {
    std::lock_guard<std::mutex> lock(liveMutex);
    live.erase(this);
  }
  StopThreads();
  for (CK_SESSION_HANDLE s : sessions) fn->C_CloseSession(s);
  sessions.clear();
  ReleaseModule(module);
  module = nullptr;
  napi_remove_env_cleanup_hook(env, OnEnvTeardown, this);
  completion.Release();
}

void CompleteJob(Napi::Env env, Napi::Function, Core* core, Job* job) {
  std::unique_ptr<Job> owned(job);
  if (env == nullptr) return;  // the environment is going away; nobody is left to hear the result
  Napi::HandleScope scope(env);
  try {
    Settle(env, job);
  } catch (const Napi::Error& e) {
    job->deferred.Reject(e.Value());
  }
  if (--core->pending == 0 && !core->shutDown) core->completion.Unref(env);
}

// Converts a finished job's results (or its first failure) and settles its promise.
void Settle(Napi::Env env, Job* job) {
  if (job->Failed()) {
    job->deferred.Reject(ToJsError(env, job->failure, job->batch ? static_cast<long>(job->firstFailed.load()) : -1));
  } else if (job->kind == OpKind::Verify) {
    if (job->batch) {
      Napi::Array verdicts = Napi::Array::New(env, job->verdicts.size());
      for (size_t i = 0; i < job->verdicts.size(); i++) verdicts.Set(i, Napi::Boolean::New(env, job->verdicts[i]));
      job->deferred.Resolve(verdicts);
    } else {
      job->deferred.Resolve(Napi::Boolean::New(env, job->verdicts[0]));
    }
  } else {
    auto toBuffer = [&](Bytes& b) {
      Napi::Buffer<uint8_t> buffer = Napi::Buffer<uint8_t>::Copy(env, b.data(), b.size());
      b.Wipe();
      return buffer;
    };
    if (job->batch) {
      // One ArrayBuffer for the whole batch, each result a view of its part: one allocation for the
      // JS heap instead of one per item.
      size_t total = 0;
      for (Bytes& b : job->outputs) total += b.size();
      Napi::ArrayBuffer all = Napi::ArrayBuffer::New(env, total);
      uint8_t* at = static_cast<uint8_t*>(all.Data());
      Napi::Array outputs = Napi::Array::New(env, job->outputs.size());
      size_t offset = 0;
      for (size_t i = 0; i < job->outputs.size(); i++) {
        Bytes& b = job->outputs[i];
        if (b.size() > 0) memcpy(at + offset, b.data(), b.size());
        outputs.Set(i, Napi::Uint8Array::New(env, b.size(), all, offset));
        offset += b.size();
        b.Wipe();
      }
      job->deferred.Resolve(outputs);
    } else {
      job->deferred.Resolve(toBuffer(job->outputs[0]));
    }
  }
}

namespace {

void DropCore(Napi::Env, std::shared_ptr<Core>* keep, Core*) { delete keep; }

// Where an argument sits ("iv", "items[3].iv"), spelt out only for an error message: a batch reads
// thousands of items, and building their names up front cost allocations on the JS thread for each.
struct ArgName {
  ArgName(const char* field, long item = -1) : field(field), item(item) {}
  std::string str() const {
    if (item < 0) return field;
    std::string s = "items[" + std::to_string(item) + "]";
    return field ? s + "." + field : s;
  }
  const char* field;
  long item;
};

uint64_t ReadInteger(const Napi::Value& value, const ArgName& name, double max) {
  if (!value.IsNumber()) throw Napi::TypeError::New(value.Env(), name.str() + " must be a number");
  double d = value.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= max && std::floor(d) == d)) {
    throw Napi::RangeError::New(value.Env(), name.str() + " must be an integer from 0 to " + std::to_string(static_cast<uint64_t>(max)));
  }
  return static_cast<uint64_t>(d);
}

Bytes ReadBytes(const Napi::Value& value, const ArgName& name) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw Napi::TypeError::New(value.Env(), name.str() + " must be a Uint8Array");
  }
  Napi::Uint8Array bytes = value.As<Napi::Uint8Array>();
  return Bytes(bytes.Data(), bytes.ByteLength());
}

Napi::Object ReadObject(const Napi::Value& value, const ArgName& name) {
  if (!value.IsObject()) throw Napi::TypeError::New(value.Env(), name.str() + " must be an object");
  return value.As<Napi::Object>();
}

// NIST SP 800-38D §5.2.1.1: the IV is at least one bit (some modules accept an empty one).
Bytes ReadIv(const Napi::Value& value, const ArgName& name) {
  Bytes iv = ReadBytes(value, name);
  if (iv.size() == 0) throw Napi::RangeError::New(value.Env(), name.str() + " must not be empty");
  return iv;
}

// A GCM ciphertext carries its 16-byte tag; refused here so every module answers alike.
Bytes ReadSealed(const Napi::Value& value, const ArgName& name) {
  Bytes sealed = ReadBytes(value, name);
  if (sealed.size() < 16) throw Napi::RangeError::New(value.Env(), name.str() + " must be at least 16 bytes (it ends with the tag)");
  return sealed;
}

Napi::Array ReadArray(const Napi::Value& value, const ArgName& name) {
  if (!value.IsArray()) throw Napi::TypeError::New(value.Env(), name.str() + " must be an array");
  return value.As<Napi::Array>();
}

SignMechanism ReadMechanism(const Napi::Value& value) {
  Napi::Object object = ReadObject(value, "mechanism");
  SignMechanism m;
  m.type = ReadInteger(object.Get("type"), "mechanism.type", 4294967295.0);
  Napi::Value params = object.Get("params");
  if (!params.IsUndefined() && !params.IsNull()) {
    Napi::Object pss = ReadObject(params, "mechanism.params");
    m.hasPss = true;
    m.pss.hashAlg = ReadInteger(pss.Get("hashAlg"), "mechanism.params.hashAlg", 4294967295.0);
    m.pss.mgf = ReadInteger(pss.Get("mgf"), "mechanism.params.mgf", 4294967295.0);
    m.pss.sLen = ReadInteger(pss.Get("saltLen"), "mechanism.params.saltLen", 4294967295.0);
  }
  return m;
}

// Copies the arguments of one call into job (JS thread): (key, iv, aad, data) for AES-GCM,
// (key, mechanism, data[, signature]) for sign/verify, (key[, mechanism], items) for batches.
void ReadArguments(const Napi::CallbackInfo& info, Job* job, OpKind kind) {
  using Kind = OpKind;
  job->key = ReadInteger(info[0], "key", kMaxSafeInteger);
  bool gcm = kind == Kind::Encrypt || kind == Kind::Decrypt;
  if (!gcm) job->mechanism = ReadMechanism(info[1]);
  if (!job->batch) {
    Item item;
    if (gcm) {
      item.iv = ReadIv(info[1], "iv");
      item.aad = ReadBytes(info[2], "aad");
      item.data = kind == Kind::Encrypt ? ReadBytes(info[3], "plaintext") : ReadSealed(info[3], "ciphertext");
    } else {
      item.data = ReadBytes(info[2], "data");
      if (kind == Kind::Verify) item.signature = ReadBytes(info[3], "signature");
    }
    job->items.push_back(std::move(item));
  } else {
    Napi::Array items = ReadArray(info[gcm ? 1 : 2], "items");
    uint32_t n = items.Length();
    job->items.reserve(n);
    // The property names once per call, not once per item.
    Napi::Env env = info.Env();
    Napi::String kIv = Napi::String::New(env, "iv");
    Napi::String kAad = Napi::String::New(env, "aad");
    Napi::String kData = Napi::String::New(env, "data");
    Napi::String kSignature = Napi::String::New(env, "signature");
    for (uint32_t i = 0; i < n; i++) {
      long at = static_cast<long>(i);
      Item item;
      if (kind == Kind::Sign) {
        item.data = ReadBytes(items.Get(i), ArgName(nullptr, at));
      } else {
        Napi::Object entry = ReadObject(items.Get(i), ArgName(nullptr, at));
        if (gcm) {
          item.iv = ReadIv(entry.Get(kIv), ArgName("iv", at));
          item.aad = ReadBytes(entry.Get(kAad), ArgName("aad", at));
        }
        item.data = kind == Kind::Decrypt ? ReadSealed(entry.Get(kData), ArgName("data", at))
                                          : ReadBytes(entry.Get(kData), ArgName("data", at));
        if (kind == Kind::Verify) item.signature = ReadBytes(entry.Get(kSignature), ArgName("signature", at));
      }
      job->items.push_back(std::move(item));
    }
  }
  if (kind == Kind::Verify) {
    job->verdicts.assign(job->items.size(), 0);
  } else {
    job->outputs.resize(job->items.size());
  }
}

}  // namespace

Napi::Function SessionPool::Define(Napi::Env env) {
  return DefineClass(env, "SessionPool",
                     {
                         InstanceMethod<&SessionPool::AesGcmEncrypt>("aesGcmEncrypt"),
                         InstanceMethod<&SessionPool::AesGcmDecrypt>("aesGcmDecrypt"),
                         InstanceMethod<&SessionPool::Sign>("sign"),
                         InstanceMethod<&SessionPool::Verify>("verify"),
                         InstanceMethod<&SessionPool::AesGcmEncryptBatch>("aesGcmEncryptBatch"),
                         InstanceMethod<&SessionPool::AesGcmDecryptBatch>("aesGcmDecryptBatch"),
                         InstanceMethod<&SessionPool::SignBatch>("signBatch"),
                         InstanceMethod<&SessionPool::VerifyBatch>("verifyBatch"),
                         InstanceMethod<&SessionPool::Close>("close"),
                         InstanceAccessor<&SessionPool::Size>("size"),
                     });
}

Napi::Value SessionPool::Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object opts = ReadObject(info[0], "options");
  Napi::Value modulePath = opts.Get("module");
  if (!modulePath.IsString() || modulePath.As<Napi::String>().Utf8Value().empty()) {
    throw Napi::TypeError::New(env, "options.module must be the path of a PKCS#11 module");
  }
  CK_SLOT_ID slot = ReadInteger(opts.Get("slot"), "options.slot", kMaxSafeInteger);
  Napi::Value pinValue = opts.Get("pin");
  if (!pinValue.IsString()) throw Napi::TypeError::New(env, "options.pin must be a string");
  Napi::Value sessions = opts.Get("sessions");
  if (!sessions.IsNumber()) throw Napi::TypeError::New(env, "options.sessions must be a number");
  double requested = sessions.As<Napi::Number>().DoubleValue();
  if (!(requested >= 1 && requested <= kMaxSessions && std::floor(requested) == requested)) {
    throw Napi::RangeError::New(env, "options.sessions must be an integer from 1 to " + std::to_string(kMaxSessions));
  }
  uint32_t count = static_cast<uint32_t>(requested);

  ClearOpenSslErrorsOnReturn clear;
  Failure failure;
  bool loaded = false;
  LoadedModule* module = AcquireModule(modulePath.As<Napi::String>().Utf8Value(), &loaded, &failure);
  if (module == nullptr) throw Napi::Error(env, ToJsError(env, failure, -1));
  if (loaded) std::atexit(StopAllPools);

  auto core = std::make_shared<Core>();
  core->module = module;
  core->fn = module->fn;
  core->env = env;
  auto undo = [&](Failure f) {
    for (CK_SESSION_HANDLE s : core->sessions) core->fn->C_CloseSession(s);
    ReleaseModule(module);
    throw Napi::Error(env, ToJsError(env, f, -1));
  };
  for (uint32_t i = 0; i < count; i++) {
    CK_SESSION_HANDLE session;
    CK_RV rv = core->fn->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &session);
    if (rv != CKR_OK) undo(Failure::Ckr("C_OpenSession", rv));
    core->sessions.push_back(session);
  }
  std::string pin = pinValue.As<Napi::String>().Utf8Value();
  CK_RV rv = core->fn->C_Login(core->sessions[0], CKU_USER, reinterpret_cast<CK_UTF8CHAR*>(pin.data()), pin.size());
  explicit_bzero(pin.data(), pin.size());
  // Login is per application (spec §5.6): another session of this process may already hold it.
  if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) undo(Failure::Ckr("C_Login", rv));

  core->completion = Completion::New(env, "keyward_pkcs11", 0, 1, core.get(), DropCore,
                                     new std::shared_ptr<Core>(core));
  core->completion.Unref(env);  // an idle pool must not keep the process alive
  for (uint32_t i = 0; i < count; i++) core->threads.emplace_back(&Core::Run, core.get(), i);
  {
    std::lock_guard<std::mutex> lock(liveMutex);
    live.insert(core.get());
  }
  // Registered after the thread-safe function, so it runs before that function's own teardown hook.
  napi_add_env_cleanup_hook(env, Core::OnEnvTeardown, core.get());

  Napi::Object pool = GetAddonData(env)->poolClass.New({});
  SessionPool::Unwrap(pool)->core_ = core;
  return pool;
}

SessionPool::SessionPool(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SessionPool>(info) {}

SessionPool::~SessionPool() {
  if (core_) core_->Shutdown();
}

Napi::Value SessionPool::Submit(const Napi::CallbackInfo& info, Kind kind, bool batch) {
  Napi::Env env = info.Env();
  auto job = std::make_unique<Job>(env, kind, batch);
  Napi::Promise promise = job->deferred.Promise();
  try {
    if (!core_ || core_->shutDown) throw Napi::Error::New(env, "the session pool is closed");
    ReadArguments(info, job.get(), kind);
  } catch (const Napi::Error& e) {
    job->deferred.Reject(e.Value());
    return promise;
  }
  if (job->items.empty()) {
    job->deferred.Resolve(Napi::Array::New(env, 0));
    return promise;
  }
  core_->Enqueue(job.release());
  return promise;
}

Napi::Value SessionPool::Close(const Napi::CallbackInfo& info) {
  ClearOpenSslErrorsOnReturn clear;
  if (core_) core_->Shutdown();
  return info.Env().Undefined();
}

Napi::Value SessionPool::Size(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), core_ && !core_->shutDown ? core_->sessions.size() : 0);
}
