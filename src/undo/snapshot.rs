//! Taking a snapshot: on its own connection, in one REPEATABLE READ READ ONLY transaction
//! whose snapshot pg_dump shares, each object at stake is described (columns, key,
//! sequences, the dropped column's definition) and its pre-image streamed into one file —
//! archive → zstd → age (with `[encryption]`) → SHA-256 → a private temporary file — then
//! read back and checked (row counts per section, pg_dump's trailer), published with its
//! sidecar under the directory lock, and retention applied. A failure leaves nothing listed.

use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use chrono::Utc;
use postgres::{IsolationLevel, Transaction};

use super::archive;
use super::model::{
    quote_ident, ColumnDefinition, ColumnType, Object, ObjectKind, Record, SequenceValue,
    SnapshotInfo,
};
use super::objects::Wanted;
use super::store;
use crate::backup::catalog::{self, Backup, BackupKind, Metadata};
use crate::backup::dump::{self, TempFile};
use crate::backup::encryption::{self, IdentityLookup, Sink};
use crate::backup::verify::{backup_error, HashingReader, HashingWriter};
use crate::backup::{fsutil, retention, tools, Settings};
use crate::error::Result;
use crate::target::{mask_secrets, Target};

pub struct Request<'a> {
    pub target: &'a Target,
    /// The command it protects (shown by `undo --list`), secrets masked here.
    pub command: String,
    pub wanted: Vec<Wanted>,
    /// `[undo] keep`.
    pub keep: usize,
}

/// A stored snapshot: its file and sidecar.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub path: PathBuf,
    pub record: Record,
}

impl Snapshot {
    pub fn backup(&self) -> Backup {
        Backup {
            path: self.path.clone(),
            metadata: self.record.metadata.clone(),
        }
    }
}

fn db_error(what: &str) -> impl Fn(postgres::Error) -> crate::error::Error + '_ {
    move |e| {
        backup_error(format!(
            "snapshot failed: {what}: {}",
            crate::guard::impact::db_message(&e)
        ))
    }
}

pub fn take(settings: &Settings, request: &Request) -> Result<Snapshot> {
    let target = request.target;
    let database = target.effective_dbname();
    let started_at = Utc::now();
    let mut client = target.connect().map_err(|e| backup_error(e.message))?;
    let server = dump::server_info(&mut client)?;
    let needs_dump = request
        .wanted
        .iter()
        .any(|w| matches!(w, Wanted::Table { .. }));
    let pg_dump = if needs_dump {
        Some(tools::find("pg_dump", server.major)?)
    } else {
        None
    };
    let dir = store::dir(settings, &database);
    fsutil::create_private_dir(&settings.dir)
        .and_then(|_| fsutil::create_private_dir(&settings.database_dir(&database)))
        .and_then(|_| fsutil::create_private_dir(&dir))
        .map_err(|e| {
            backup_error(format!(
                "cannot create the snapshot directory {}: {e}",
                dir.display()
            ))
        })?;
    let encryption = settings.encryption.as_ref();
    let mut temp = TempFile::create(&dir, "snapshot")?;

    let mut tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .map_err(db_error("cannot start a snapshot transaction"))?;
    let exported: String = tx
        .query_one("SELECT pg_export_snapshot()", &[])
        .map_err(db_error("cannot export a snapshot"))?
        .get(0);
    // TRUNCATE … CASCADE empties every table that references the named one, too.
    let mut wanted_all: Vec<Wanted> = Vec::new();
    for wanted in &request.wanted {
        wanted_all.push(wanted.clone());
        if let Wanted::TableData {
            table,
            cascade: true,
        } = wanted
        {
            for referencing in referencing_tables(&mut tx, table)? {
                wanted_all.push(Wanted::TableData {
                    table: referencing,
                    cascade: false,
                });
            }
        }
    }
    let mut objects = Vec::new();
    for wanted in &wanted_all {
        if let Some(object) = describe(&mut tx, wanted)? {
            objects.push((object, wanted));
        }
    }

    let summed: Vec<(usize, String)> = objects
        .iter()
        .enumerate()
        .filter(|(_, (o, _))| matches!(o.kind, ObjectKind::Table | ObjectKind::TableData))
        .map(|(i, (o, _))| (i, o.qualified()))
        .collect();
    let summing = checksums(target, &exported, summed);
    let file = temp
        .file
        .as_ref()
        .expect("open")
        .try_clone()
        .map_err(|e| backup_error(e.to_string()))?;
    let written = (|| -> std::io::Result<(String, u64, u64, Vec<Object>)> {
        let hashing = HashingWriter::new(std::io::BufWriter::with_capacity(1 << 20, file));
        let sink = Sink::new(hashing, encryption)?;
        let mut encoder = zstd::stream::write::Encoder::new(sink, settings.level)?;
        encoder.include_checksum(true)?;
        encoder.multithread(1)?;
        let mut writer = archive::Writer::new(CountingWriter::new(encoder))?;
        let mut done = Vec::new();
        for (i, (mut object, wanted)) in objects.into_iter().enumerate() {
            let mut section = writer.section(&format!("{i} {}", object.kind.as_str()))?;
            match wanted {
                Wanted::Table { .. } => {
                    let tool = pg_dump.as_ref().expect("found above");
                    pg_dump_table(&tool.path, target, &exported, &object, &mut section)?;
                }
                _ => {
                    let sql = copy_sql(&object, wanted);
                    let mut reader = tx
                        .copy_out(sql.as_str())
                        .map_err(|e| std::io::Error::other(crate::guard::impact::db_message(&e)))?;
                    let mut lines = LineCounter::new(&mut section);
                    std::io::copy(&mut reader, &mut lines)?;
                    object.rows = lines.lines;
                }
            }
            object.bytes = section.end()?;
            done.push(object);
        }
        let mut manifest = writer.section("manifest")?;
        serde_json::to_writer(&mut manifest, &done)?;
        manifest.end()?;
        let counting = writer.finish()?;
        let uncompressed = counting.bytes;
        let sink = counting.inner.finish()?;
        let hashing = sink.finish()?;
        let (buffered, sha256, size) = hashing.finish();
        let file = buffered.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        Ok((sha256, size, uncompressed, done))
    })();
    let sums = summing
        .join()
        .unwrap_or_else(|_| Err(backup_error("checksumming failed")));
    let _ = tx.commit();
    let (sha256, size_bytes, uncompressed, mut objects) =
        written.map_err(|e| backup_error(format!("cannot write the snapshot: {e}")))?;
    for (i, sum) in sums? {
        objects[i].checksum = Some(sum);
    }

    let verification = read_back(&temp.path, &sha256, settings, &objects)?;
    let finished_at = Utc::now();

    let _lock = retention::lock(&dir)
        .map_err(|e| backup_error(format!("cannot lock {}: {e}", dir.display())))?;
    let stamp = started_at.format("%Y%m%d%H%M%S").to_string();
    let (id, name) = (1..)
        .map(|n| {
            let id = if n == 1 {
                stamp.clone()
            } else {
                format!("{stamp}-{n}")
            };
            let suffix = if encryption.is_some() {
                catalog::ENCRYPTED_SUFFIX
            } else {
                catalog::DUMP_SUFFIX
            };
            let name = format!(
                "snapshot_{}_{id}{suffix}",
                crate::backup::settings::safe_file_component(&database)
            );
            (id, name)
        })
        .find(|(_, name)| !dir.join(name).exists())
        .expect("some name is free");
    let path = dir.join(&name);
    let metadata = Metadata {
        format_version: 1,
        name: name.clone(),
        kind: BackupKind::Snapshot,
        database: database.clone(),
        host: target.effective_host(),
        port: target.effective_port(),
        user: target.effective_user(),
        cluster_id: server.cluster_id,
        server_version: server.version,
        pg_dump_version: pg_dump.map(|t| t.version).unwrap_or_default(),
        started_at,
        finished_at,
        size_bytes,
        uncompressed_bytes: uncompressed,
        sha256,
        compression: format!("zstd:{}", settings.level),
        format: match encryption {
            Some(_) => {
                "dbguard snapshot (pg_dump -Fp and COPY sections), zstd-compressed, age-encrypted"
            }
            None => "dbguard snapshot (pg_dump -Fp and COPY sections), zstd-compressed",
        }
        .to_string(),
        verified: true,
        verified_at: Some(finished_at),
        verification,
        reason: Some(mask_secrets(&request.command)),
        dbguard_version: env!("CARGO_PKG_VERSION").to_string(),
        tables: objects
            .iter()
            .map(|o| catalog::TableCount {
                schema: o.schema.clone(),
                name: o.table.clone(),
                rows: o.rows,
            })
            .collect(),
        encryption: encryption.map(|e| e.info()),
        offsite: None,
        sealed: None,
    };
    let record = Record {
        metadata,
        snapshot: SnapshotInfo {
            id,
            command: mask_secrets(&request.command),
            objects,
            after: None,
            undone_at: None,
        },
    };
    dump::publish(&mut temp, &path, &record, "snapshot")?;
    retention::remove_stale_temps(&dir);
    store::apply_retention(&dir, request.keep, &path);
    Ok(Snapshot { path, record })
}

/// Resolves one wanted object in the snapshot's transaction; `None` when it does not exist
/// (nothing of it is at stake).
fn describe(tx: &mut Transaction, wanted: &Wanted) -> Result<Option<Object>> {
    let (table, kind) = match wanted {
        Wanted::Table { table, .. } => (table.clone(), ObjectKind::Table),
        Wanted::TableData { table, .. } => (table.clone(), ObjectKind::TableData),
        Wanted::Rows(s) => (s.table.clone(), ObjectKind::Rows),
        Wanted::Updated(s) => (s.table.clone(), ObjectKind::UpdatedRows),
        Wanted::Column { table, .. } => (table.clone(), ObjectKind::Column),
        Wanted::VersionTable => ("alembic_version".to_string(), ObjectKind::VersionTable),
    };
    let Some(row) = tx
        .query_opt(
            "SELECT n.nspname::text, c.relname::text, c.oid::regclass::text FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)",
            &[&table],
        )
        .map_err(db_error("cannot look up the table"))?
    else {
        return Ok(None);
    };
    let (schema, name, _): (String, String, String) = (row.get(0), row.get(1), row.get(2));
    // Definitions are read with only pg_catalog on the search path, so every name in them
    // (types, sequences, referenced tables) comes out schema-qualified and means the same
    // under any search_path at undo time (pg_dump's script sets it empty).
    let search_path: String = tx
        .query_one("SELECT current_setting('search_path')", &[])
        .map_err(db_error("cannot read search_path"))?
        .get(0);
    tx.batch_execute("SET LOCAL search_path = pg_catalog")
        .map_err(db_error("cannot set search_path"))?;
    let described = describe_in(tx, wanted, kind, schema, name);
    tx.execute(
        "SELECT set_config('search_path', $1, true)",
        &[&search_path],
    )
    .map_err(db_error("cannot reset search_path"))?;
    described
}

fn describe_in(
    tx: &mut Transaction,
    wanted: &Wanted,
    kind: ObjectKind,
    schema: String,
    name: String,
) -> Result<Option<Object>> {
    let regclass = format!("{}.{}", quote_ident(&schema), quote_ident(&name));
    let columns: Vec<ColumnType> = tx
        .query(
            "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a \
             WHERE a.attrelid = $1::text::regclass AND a.attnum > 0 AND NOT a.attisdropped \
             AND a.attgenerated = '' ORDER BY a.attnum",
            &[&regclass],
        )
        .map_err(db_error("cannot read the columns"))?
        .iter()
        .map(|r| ColumnType {
            name: r.get(0),
            type_name: r.get(1),
        })
        .collect();
    let key: Vec<String> = tx
        .query(
            "SELECT a.attname::text FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid \
             AND a.attnum = ANY(i.indkey) WHERE i.indrelid = $1::text::regclass AND i.indisprimary \
             ORDER BY array_position(i.indkey::int2[], a.attnum)",
            &[&regclass],
        )
        .map_err(db_error("cannot read the primary key"))?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut object = Object {
        kind,
        schema,
        table: name,
        column: None,
        rows: 0,
        columns,
        key,
        checksum: None,
        sequences: Vec::new(),
        definition: None,
        dependents: Vec::new(),
        after_sql: Vec::new(),
        bytes: 0,
    };
    match wanted {
        Wanted::Table { cascade, .. } => {
            object.rows = count(tx, &regclass)?;
            // DROP TABLE takes partitions and inheritance children with it; pg_dump -t
            // names only the table itself.
            object.dependents = children(tx, &regclass)?;
            if *cascade {
                object.dependents.extend(dependent_views(tx, &regclass)?);
                object.after_sql = referencing_foreign_keys(tx, &regclass)?;
            }
            object.columns.clear();
        }
        Wanted::TableData { .. } => {
            object.sequences = sequences(tx, &regclass)?;
        }
        Wanted::Column { column, .. } => {
            let column = unquote(column);
            let Some(definition) = column_definition(tx, &regclass, &column)? else {
                return Ok(None);
            };
            object.definition = Some(definition);
            // The key and the column; the whole row when there is no key.
            if !object.key.is_empty() {
                let keep: Vec<&String> = object.key.iter().chain([&column]).collect();
                object.columns.retain(|c| keep.contains(&&c.name));
                // Key columns first, then the column, as the COPY writes them.
                object.columns.sort_by_key(|c| {
                    keep.iter()
                        .position(|k| **k == c.name)
                        .unwrap_or(usize::MAX)
                });
            }
            object.column = Some(column);
        }
        _ => {}
    }
    Ok(Some(object))
}

/// The COPY that saves an object's rows, in the order of `object.columns`.
fn copy_sql(object: &Object, wanted: &Wanted) -> String {
    match wanted {
        Wanted::Rows(s) | Wanted::Updated(s) => {
            let cols: Vec<String> = object
                .columns
                .iter()
                .map(|c| format!("{}.{}", s.qualifier, quote_ident(&c.name)))
                .collect();
            format!(
                "COPY (SELECT {} {}) TO STDOUT",
                cols.join(", "),
                s.from_where
            )
        }
        _ => {
            let cols: Vec<String> = object
                .columns
                .iter()
                .map(|c| quote_ident(&c.name))
                .collect();
            format!(
                "COPY (SELECT {} FROM {}) TO STDOUT",
                cols.join(", "),
                object.qualified()
            )
        }
    }
}

/// The row count and the sum of 60 bits of each row text's md5: equal contents, equal
/// checksum, in any row order and without sorting the table.
pub fn checksum_sql(qualified: &str) -> String {
    format!(
        "SELECT count(*) || ':' || coalesce(sum(('x' || substr(md5(x::text), 1, 15))::bit(60)::bigint::numeric), 0) FROM {qualified} x"
    )
}

/// Checksums `tables` on a second connection that imports the snapshot, while the first
/// one (and pg_dump) saves them.
fn checksums(
    target: &Target,
    exported: &str,
    tables: Vec<(usize, String)>,
) -> std::thread::JoinHandle<Result<Vec<(usize, String)>>> {
    let (target, exported) = (target.clone(), exported.to_string());
    std::thread::spawn(move || {
        let mut out = Vec::new();
        if tables.is_empty() {
            return Ok(out);
        }
        let mut client = target.connect().map_err(|e| backup_error(e.message))?;
        let mut tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(db_error("cannot start a checksum transaction"))?;
        tx.batch_execute(&format!(
            "SET TRANSACTION SNAPSHOT {}",
            super::model::quote_literal(&exported)
        ))
        .map_err(db_error("cannot import the snapshot"))?;
        for (i, table) in tables {
            let sum: String = tx
                .query_one(checksum_sql(&table).as_str(), &[])
                .map_err(db_error("cannot checksum the table"))?
                .get(0);
            out.push((i, sum));
        }
        Ok(out)
    })
}

fn count(tx: &mut Transaction, regclass: &str) -> Result<i64> {
    Ok(tx
        .query_one(format!("SELECT count(*) FROM {regclass}").as_str(), &[])
        .map_err(db_error("cannot count the rows"))?
        .get(0))
}

fn sequences(tx: &mut Transaction, regclass: &str) -> Result<Vec<SequenceValue>> {
    let names: Vec<String> = tx
        .query(
            "SELECT s.oid::regclass::text FROM pg_depend d JOIN pg_class s ON s.oid = d.objid \
             AND s.relkind = 'S' WHERE d.classid = 'pg_class'::regclass \
             AND d.refobjid = $1::text::regclass AND d.deptype IN ('a', 'i') ORDER BY 1",
            &[&regclass],
        )
        .map_err(db_error("cannot list the table's sequences"))?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut values = Vec::new();
    for name in names {
        let row = tx
            .query_one(
                format!("SELECT last_value, is_called FROM {name}").as_str(),
                &[],
            )
            .map_err(db_error("cannot read a sequence"))?;
        values.push(SequenceValue {
            name,
            last_value: row.get(0),
            is_called: row.get(1),
        });
    }
    Ok(values)
}

/// Tables whose foreign keys reference `table`, directly or through others, parents first.
fn referencing_tables(tx: &mut Transaction, table: &str) -> Result<Vec<String>> {
    Ok(tx
        .query(
            "WITH RECURSIVE refs(oid, depth) AS ( \
               SELECT conrelid, 1 FROM pg_constraint WHERE contype = 'f' \
               AND confrelid = to_regclass($1) AND conrelid <> confrelid \
             UNION \
               SELECT c.conrelid, r.depth + 1 FROM refs r JOIN pg_constraint c \
               ON c.contype = 'f' AND c.confrelid = r.oid AND c.conrelid <> c.confrelid \
               WHERE r.depth < 16) \
             SELECT oid::regclass::text FROM refs GROUP BY oid ORDER BY min(depth), 1",
            &[&table],
        )
        .map_err(db_error("cannot list the referencing tables"))?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

/// `ALTER TABLE … ADD CONSTRAINT` for the foreign keys of other tables that point at
/// `regclass` (DROP TABLE … CASCADE drops them).
fn referencing_foreign_keys(tx: &mut Transaction, regclass: &str) -> Result<Vec<String>> {
    Ok(tx
        .query(
            "SELECT format('ALTER TABLE %s ADD CONSTRAINT %I %s', conrelid::regclass, conname, \
             pg_get_constraintdef(oid)) FROM pg_constraint WHERE contype = 'f' \
             AND confrelid = $1::text::regclass AND conrelid <> confrelid ORDER BY 1",
            &[&regclass],
        )
        .map_err(db_error(
            "cannot list the foreign keys pointing at the table",
        ))?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

/// Partitions and inheritance children, recursively.
fn children(tx: &mut Transaction, regclass: &str) -> Result<Vec<String>> {
    Ok(tx
        .query(
            "WITH RECURSIVE kids(oid) AS ( \
               SELECT inhrelid FROM pg_inherits WHERE inhparent = $1::text::regclass \
             UNION SELECT i.inhrelid FROM pg_inherits i JOIN kids k ON i.inhparent = k.oid) \
             SELECT oid::regclass::text FROM kids ORDER BY 1",
            &[&regclass],
        )
        .map_err(db_error("cannot list the partitions"))?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

fn dependent_views(tx: &mut Transaction, regclass: &str) -> Result<Vec<String>> {
    Ok(tx
        .query(
            "WITH RECURSIVE deps(oid) AS ( \
               SELECT r.ev_class FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid \
               WHERE d.classid = 'pg_rewrite'::regclass AND d.refobjid = $1::text::regclass \
               AND r.ev_class <> $1::text::regclass \
             UNION \
               SELECT r.ev_class FROM deps JOIN pg_depend d ON d.refobjid = deps.oid \
               JOIN pg_rewrite r ON r.oid = d.objid \
               WHERE d.classid = 'pg_rewrite'::regclass AND r.ev_class <> deps.oid) \
             SELECT oid::regclass::text FROM deps ORDER BY 1",
            &[&regclass],
        )
        .map_err(db_error("cannot list the dependent views"))?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

fn column_definition(
    tx: &mut Transaction,
    regclass: &str,
    column: &str,
) -> Result<Option<ColumnDefinition>> {
    let Some(row) = tx
        .query_opt(
            "SELECT format_type(a.atttypid, a.atttypmod), \
               CASE WHEN a.attcollation <> t.typcollation AND a.attcollation <> 0 THEN \
                 (SELECT quote_ident(cn.nspname) || '.' || quote_ident(co.collname) \
                  FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace \
                  WHERE co.oid = a.attcollation) END, \
               pg_get_expr(ad.adbin, ad.adrelid), a.attnotnull, \
               col_description(a.attrelid, a.attnum), a.attnum \
             FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid \
             LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum \
             WHERE a.attrelid = $1::text::regclass AND a.attname = $2 AND a.attnum > 0 \
             AND NOT a.attisdropped",
            &[&regclass, &column],
        )
        .map_err(db_error("cannot read the column's definition"))?
    else {
        return Ok(None);
    };
    let attnum: i16 = row.get(5);
    let constraints = tx
        .query(
            "SELECT conname::text, pg_get_constraintdef(oid) FROM pg_constraint \
             WHERE conrelid = $1::text::regclass AND $2 = ANY(conkey) ORDER BY conname",
            &[&regclass, &attnum],
        )
        .map_err(db_error("cannot read the column's constraints"))?
        .iter()
        .map(|r| {
            format!(
                "ALTER TABLE {regclass} ADD CONSTRAINT {} {}",
                quote_ident(r.get::<_, &str>(0)),
                r.get::<_, &str>(1)
            )
        })
        .collect();
    let indexes = tx
        .query(
            "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i \
             WHERE i.indrelid = $1::text::regclass AND $2 = ANY(i.indkey::int2[]) \
             AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid \
                             AND c.conrelid = i.indrelid) ORDER BY 1",
            &[&regclass, &attnum],
        )
        .map_err(db_error("cannot read the column's indexes"))?
        .iter()
        .map(|r| r.get(0))
        .collect();
    Ok(Some(ColumnDefinition {
        type_name: row.get(0),
        collation: row.get(1),
        default: row.get(2),
        not_null: row.get(3),
        constraints,
        indexes,
        comment: row.get(4),
    }))
}

/// `"Mixed Case"` → `Mixed Case`; `Plain` → `plain` (how PostgreSQL folds identifiers).
pub fn unquote(name: &str) -> String {
    match name.strip_prefix('"').and_then(|n| n.strip_suffix('"')) {
        Some(inner) => inner.replace("\"\"", "\""),
        None => name.to_lowercase(),
    }
}

/// `pg_dump -Fp` of the table (and the views a CASCADE takes), in the shared snapshot.
fn pg_dump_table(
    pg_dump: &Path,
    target: &Target,
    exported: &str,
    object: &Object,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let mut command = Command::new(pg_dump);
    command.args([
        "--format=plain",
        "--no-password",
        "--snapshot",
        exported,
        "--table",
        &pattern(&object.schema, &object.table),
    ]);
    for view in &object.dependents {
        command.args(["--table", view]);
    }
    let mut child = command
        .envs(target.libpq_env())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let errors = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let copied = std::io::copy(&mut stdout, out);
    if copied.is_err() {
        let _ = child.kill();
    }
    let status = child.wait()?;
    let errors = mask_secrets(errors.join().unwrap_or_default().trim());
    copied?;
    if !status.success() {
        return Err(std::io::Error::other(format!("pg_dump failed: {errors}")));
    }
    Ok(())
}

/// A pg_dump `-t` pattern matching exactly this schema and table (quoted: no wildcards,
/// case kept).
fn pattern(schema: &str, table: &str) -> String {
    let q = |s: &str| {
        let escaped: String = s
            .chars()
            .map(|c| match c {
                '"' => "\"\"".to_string(),
                c => c.to_string(),
            })
            .collect();
        format!("\"{escaped}\"")
    };
    format!("{}.{}", q(schema), q(table))
}

/// Counts the bytes written through it.
struct CountingWriter<W> {
    inner: W,
    bytes: u64,
}

impl<W> CountingWriter<W> {
    fn new(inner: W) -> Self {
        CountingWriter { inner, bytes: 0 }
    }
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Counts lines (COPY text rows) written through it.
struct LineCounter<'a> {
    inner: &'a mut dyn Write,
    lines: i64,
}

impl<'a> LineCounter<'a> {
    fn new(inner: &'a mut dyn Write) -> Self {
        LineCounter { inner, lines: 0 }
    }
}

impl Write for LineCounter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.lines += buf[..n].iter().filter(|&&b| b == b'\n').count() as i64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Opens a stored snapshot for reading: checks nothing yet, decrypts when encrypted.
pub fn open(path: &Path, settings: &Settings) -> Result<Box<dyn BufRead>> {
    let encrypted = path.to_string_lossy().ends_with(catalog::ENCRYPTED_SUFFIX);
    open_as(path, settings, encrypted)
}

/// [`open`] for a file whose name does not tell (the temporary file being verified).
fn open_as(path: &Path, settings: &Settings, encrypted: bool) -> Result<Box<dyn BufRead>> {
    let file = std::fs::File::open(path)
        .map_err(|e| backup_error(format!("cannot open {}: {e}", path.display())))?;
    let reader: Box<dyn Read> = Box::new(std::io::BufReader::with_capacity(1 << 20, file));
    let stream: Box<dyn Read> = if encrypted {
        let identity = encryption::require_identity(
            settings.encryption.as_ref(),
            "to read an encrypted snapshot",
        )?;
        encryption::decrypt(reader, &identity)?
    } else {
        reader
    };
    let decoder = zstd::stream::read::Decoder::new(stream)
        .map_err(|e| backup_error(format!("{} is corrupt: {e}", path.display())))?;
    Ok(Box::new(std::io::BufReader::with_capacity(
        1 << 20,
        decoder,
    )))
}

/// Reads a new snapshot back: every byte (SHA-256, zstd frame checksums, age chunks), every
/// section's row count against what was saved, pg_dump's completion trailer.
fn read_back(
    path: &Path,
    sha256: &str,
    settings: &Settings,
    objects: &[Object],
) -> Result<Vec<String>> {
    if let Some(encryption) = settings.encryption.as_ref() {
        if !matches!(encryption.identity()?, IdentityLookup::Loaded(_)) {
            let why = "age-encrypted and no identity on this machine to decrypt it";
            let verified = crate::backup::verify::verify_checksum(path, sha256, why)?;
            return Ok(verified.how());
        }
    }
    let file = std::fs::File::open(path)
        .map_err(|e| backup_error(format!("cannot open {}: {e}", path.display())))?;
    let (found, _) = HashingReader::new(std::io::BufReader::new(file))
        .finish()
        .map_err(|e| backup_error(format!("cannot read {}: {e}", path.display())))?;
    if found != sha256 {
        return Err(backup_error(format!(
            "{} does not match its checksum: the file was changed or damaged",
            path.display()
        )));
    }
    let corrupt = |e: std::io::Error| backup_error(format!("{} is corrupt: {e}", path.display()));
    let encrypted = settings.encryption.is_some();
    let mut reader = archive::Reader::new(open_as(path, settings, encrypted)?).map_err(corrupt)?;
    let mut checked = 0;
    while let Some(header) = reader.next_section().map_err(corrupt)? {
        if header == "manifest" {
            std::io::copy(&mut reader.body(), &mut std::io::sink()).map_err(corrupt)?;
            continue;
        }
        let (index, kind) = header.split_once(' ').unwrap_or((&header, ""));
        let object = index
            .parse::<usize>()
            .ok()
            .and_then(|i| objects.get(i))
            .ok_or_else(|| backup_error(format!("{}: unknown section", path.display())))?;
        let rows = if kind == ObjectKind::Table.as_str() {
            let (rows, complete) = dump_rows(&mut reader.body()).map_err(corrupt)?;
            if !complete {
                return Err(backup_error(format!(
                    "{}: the pg_dump of {} is incomplete",
                    path.display(),
                    object.qualified()
                )));
            }
            rows
        } else {
            let mut lines = 0i64;
            let mut body = std::io::BufReader::new(reader.body());
            loop {
                let buf = body.fill_buf().map_err(corrupt)?;
                if buf.is_empty() {
                    break;
                }
                lines += buf.iter().filter(|&&b| b == b'\n').count() as i64;
                let n = buf.len();
                body.consume(n);
            }
            lines
        };
        if rows != object.rows {
            return Err(backup_error(format!(
                "{}: {} holds {rows} rows, {} were saved",
                path.display(),
                object.describe(),
                object.rows
            )));
        }
        checked += 1;
    }
    if checked != objects.len() {
        return Err(backup_error(format!(
            "{}: {checked} of {} sections found",
            path.display(),
            objects.len()
        )));
    }
    let mut how = vec!["sha256 of the stored file".to_string()];
    if settings.encryption.is_some() {
        how.push("age decryption and authentication".into());
    }
    how.push("zstd frame checksums".into());
    how.push(format!("row counts of {checked} sections"));
    Ok(how)
}

/// The data rows in a pg_dump plain script of a table (with its partitions; views have
/// none), and whether the script ran to pg_dump's completion trailer.
pub fn dump_rows(body: &mut dyn Read) -> std::io::Result<(i64, bool)> {
    let mut lines = std::io::BufReader::new(body);
    let mut line = Vec::new();
    let mut rows = 0;
    let mut in_copy = false;
    let mut complete = false;
    loop {
        line.clear();
        if lines.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        if in_copy {
            if line == b"\\.\n" {
                in_copy = false;
            } else {
                rows += 1;
            }
            continue;
        }
        if line.starts_with(b"COPY ") && line.trim_ascii_end().ends_with(b"FROM stdin;") {
            in_copy = true;
        } else if line.starts_with(b"-- PostgreSQL database dump complete") {
            complete = true;
        }
    }
    Ok((rows, complete))
}
