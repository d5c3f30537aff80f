// Writes small Parquet shards with DuckDB, an independent Parquet writer, for the Ingest tests.
// Usage: node write_duckdb_shards.mjs OUTDIR
// The values follow simple rules that the C# tests recompute:
//   hf-zstd.parquet      image = {bytes, path}, label; bytes = 'img-' || i%7 || '#' * (i%7 * 50), NULL when i%11 = 4;
//                        only 7 distinct values, so DuckDB dictionary-encodes them; ZSTD; row groups of 100.
//   img2dataset-snappy.parquet  jpg, key, txt; jpg = 'jpg-' || i || 'x' * (i%100); key = lpad(i, 9, '0'); SNAPPY.
//   hf-gzip.parquet      as hf-zstd, GZIP.
//   hf-captions.parquet  image = {bytes 'img-' || i, path 'c' || i}, label i%4, text (a caption; NULL when i%9 = 5, white space
//                        when i%9 = 7, else '  A Photo  of shape ' || i%5 || ' café ' || i), description 'desc ' || i; ZSTD; row groups of 50.
//   series-list.parquet  series FLOAT[] (length 8 + i%5, value j*0.5 + i), label i%3, NULL series when i%13 = 6; row groups of 20.
//   series-nested.parquet channels DOUBLE[][] (2 channels of length 6: c*100 + i + j/4), label BIGINT i%4; ZSTD.
import { DuckDBInstance } from '@duckdb/node-api';
import path from 'node:path';

const out = process.argv[2];
if (!out) { console.error('usage: node write_duckdb_shards.mjs OUTDIR'); process.exit(2); }
const q = (p) => `'${path.join(out, p).replaceAll("'", "''")}'`;

const instance = await DuckDBInstance.create(':memory:');
const con = await instance.connect();
await con.run('SET threads = 1');
const hf = `SELECT {'bytes': CASE WHEN i % 11 = 4 THEN NULL ELSE ('img-' || (i % 7)::VARCHAR || repeat('#', ((i % 7) * 50)::INTEGER))::BLOB END,
                    'path': 'p' || i::VARCHAR} AS image,
                   i AS label
            FROM range(250) t(i)`;
await con.run(`COPY (${hf}) TO ${q('hf-zstd.parquet')} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 100)`);
await con.run(`COPY (${hf}) TO ${q('hf-gzip.parquet')} (FORMAT parquet, COMPRESSION gzip, ROW_GROUP_SIZE 100)`);
await con.run(`COPY (SELECT ('jpg-' || i::VARCHAR || repeat('x', (i % 100)::INTEGER))::BLOB AS jpg,
                            lpad(i::VARCHAR, 9, '0') AS key,
                            'caption ' || i::VARCHAR AS txt
                     FROM range(300) t(i))
               TO ${q('img2dataset-snappy.parquet')} (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE 64)`);
await con.run(`COPY (SELECT {'bytes': ('img-' || i::VARCHAR)::BLOB, 'path': 'c' || i::VARCHAR} AS image,
                            (i % 4)::BIGINT AS label,
                            CASE WHEN i % 9 = 5 THEN NULL WHEN i % 9 = 7 THEN ' \t  '
                                 ELSE '  A Photo  of shape ' || (i % 5)::VARCHAR || ' café ' || i::VARCHAR END AS text,
                            'desc ' || i::VARCHAR AS description
                     FROM range(120) t(i))
               TO ${q('hf-captions.parquet')} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 50)`);
await con.run(`COPY (SELECT CASE WHEN i % 13 = 6 THEN NULL
                                 ELSE list_transform(range(8 + i % 5), j -> (j * 0.5 + i)::FLOAT) END AS series,
                            (i % 3)::INTEGER AS label
                     FROM range(70) t(i))
               TO ${q('series-list.parquet')} (FORMAT parquet, ROW_GROUP_SIZE 20)`);
await con.run(`COPY (SELECT list_transform(range(2), c -> list_transform(range(6), j -> (c * 100 + i + j / 4)::DOUBLE)) AS channels,
                            (i % 4)::BIGINT AS label
                     FROM range(30) t(i))
               TO ${q('series-nested.parquet')} (FORMAT parquet, COMPRESSION zstd)`);
con.closeSync();
console.log('ok');
