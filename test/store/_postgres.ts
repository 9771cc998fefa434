// The tests' private PostgreSQL server: the one starter shared with the load script (bench/postgres.ts).
export { startPostgres, type ThrowawayPostgres as TestPostgres } from '../../bench/postgres.js';
