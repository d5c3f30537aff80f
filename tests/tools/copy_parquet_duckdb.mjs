// Rewrites Parquet files with DuckDB, an independent writer, on DuckDB's own defaults (row groups of 122,880 rows,
// Snappy): what a user gets from `COPY (SELECT * FROM read_parquet(...)) TO ...` in DuckDB. Used by perf/methods.sh to
// turn Fashion-MNIST into Hugging Face-style Parquet of PNGs written by DuckDB.
// Usage: node copy_parquet_duckdb.mjs INPUT_GLOB OUTPUT.parquet [COLUMNS=*]
import { DuckDBInstance } from '@duckdb/node-api';

const [input, output, columns = '*'] = process.argv.slice(2);
if (!input || !output) { console.error('usage: node copy_parquet_duckdb.mjs INPUT_GLOB OUTPUT.parquet [COLUMNS=*]'); process.exit(2); }
const lit = (s) => `'${s.replaceAll("'", "''")}'`;
const instance = await DuckDBInstance.create(':memory:');
const con = await instance.connect();
// The input's row order is kept (read_parquet in file order, then row order): the shards are not shuffled here.
await con.run(`SET preserve_insertion_order = true`);
await con.run(`COPY (SELECT ${columns} FROM read_parquet(${lit(input)}, file_row_number = false)) TO ${lit(output)} (FORMAT parquet)`);
const reader = await con.runAndReadAll(`SELECT count(*)::INTEGER AS n FROM read_parquet(${lit(output)})`);
console.log(`${output}: ${reader.getRows()[0][0]} rows`);
con.closeSync();
