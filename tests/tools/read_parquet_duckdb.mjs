// Reads a Parquet file with DuckDB (an independent reader) and prints it as one JSON object, for the Host tests.
// Usage: node read_parquet_duckdb.mjs FILE
// Output: {"columns":[{"name":…, "type":…}], "row_groups":N, "rows":[{column: value, …}, …]} (rows in stored order;
// BIGINT as JSON strings, lists as arrays, NULL as null).
import { DuckDBInstance } from '@duckdb/node-api';

const file = process.argv[2];
if (!file) { console.error('usage: node read_parquet_duckdb.mjs FILE'); process.exit(2); }
const q = `'${file.replaceAll("'", "''")}'`;

const instance = await DuckDBInstance.create(':memory:');
const con = await instance.connect();
await con.run('SET threads = 1');
const described = await con.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${q})`);
const columns = described.getRowObjectsJson().map(r => ({ name: r.column_name, type: r.column_type }));
const groups = await con.runAndReadAll(`SELECT count(DISTINCT row_group_id)::INTEGER AS n FROM parquet_metadata(${q})`);
const rows = await con.runAndReadAll(`SELECT * FROM read_parquet(${q}, file_row_number = true) ORDER BY file_row_number`);
const objects = rows.getRowObjectsJson().map(r => { delete r.file_row_number; return r; });
console.log(JSON.stringify({ columns, row_groups: groups.getRowObjectsJson()[0].n, rows: objects }));
con.closeSync();
