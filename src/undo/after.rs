//! After an UPDATE ran: the md5 of every row it wrote, by primary key (`<snapshot>.after`,
//! compressed and encrypted like the snapshot), so `undo` puts old values back only where a
//! row still holds what the command wrote and reports the others as changed since.

use std::io::{BufRead, Read, Write};

use super::model::{quote_ident, AfterImage, Object, ObjectKind};
use super::{archive, snapshot, store, Protection, ProtectionKind};
use crate::backup::encryption::{self, Sink};
use crate::backup::verify::{backup_error, HashingWriter};
use crate::backup::{catalog, fsutil, Settings};
use crate::error::Result;
use crate::target::Target;

/// Key positions of `object.columns`.
fn key_positions(object: &Object) -> Vec<usize> {
    object
        .key
        .iter()
        .filter_map(|k| object.columns.iter().position(|c| &c.name == k))
        .collect()
}

fn key_defs(object: &Object) -> Vec<String> {
    key_positions(object)
        .into_iter()
        .map(|i| {
            let c = &object.columns[i];
            format!("{} {}", quote_ident(&c.name), c.type_name)
        })
        .collect()
}

fn key_join(object: &Object, a: &str, b: &str) -> String {
    object
        .key
        .iter()
        .map(|k| format!("{a}.{0} = {b}.{0}", quote_ident(k)))
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// Records the after-image of the snapshot's updated rows (nothing for other snapshots).
pub fn record(settings: &Settings, target: &Target, protection: &Protection) -> Result<()> {
    if protection.kind != ProtectionKind::Snapshot {
        return Ok(());
    }
    let Some(mut snap) = store::read(&protection.path) else {
        return Ok(());
    };
    let updated: Vec<usize> = snap
        .record
        .snapshot
        .objects
        .iter()
        .enumerate()
        .filter(|(_, o)| o.kind == ObjectKind::UpdatedRows && !o.key.is_empty())
        .map(|(i, _)| i)
        .collect();
    if updated.is_empty() {
        return Ok(());
    }
    let fail = |e: String| backup_error(format!("cannot record what the UPDATE wrote: {e}"));
    let mut client = target.connect().map_err(|e| fail(e.message))?;
    let mut tx = client.transaction().map_err(|e| fail(e.to_string()))?;
    let path = store::after_path(&snap.path);
    let file = fsutil::create_private_file(&path).map_err(|e| fail(e.to_string()))?;
    let hashing = HashingWriter::new(std::io::BufWriter::new(file));
    let sink = Sink::new(hashing, settings.encryption.as_ref()).map_err(|e| fail(e.to_string()))?;
    let mut encoder =
        zstd::stream::write::Encoder::new(sink, settings.level).map_err(|e| fail(e.to_string()))?;
    let mut rows = 0i64;
    {
        let mut writer = archive::Writer::new(&mut encoder).map_err(|e| fail(e.to_string()))?;
        let mut reader = archive::Reader::new(snapshot::open(&snap.path, settings)?)
            .map_err(|e| fail(e.to_string()))?;
        while let Some(header) = reader.next_section().map_err(|e| fail(e.to_string()))? {
            let index = header
                .split_once(' ')
                .and_then(|(i, _)| i.parse::<usize>().ok());
            let Some(i) = index.filter(|i| updated.contains(i)) else {
                std::io::copy(&mut reader.body(), &mut std::io::sink())
                    .map_err(|e| fail(e.to_string()))?;
                continue;
            };
            let object = &snap.record.snapshot.objects[i];
            let positions = key_positions(object);
            // The keys of the saved rows, as COPY text, into a temporary table.
            tx.batch_execute(&format!(
                "CREATE TEMP TABLE __dbguard_keys ({}) ON COMMIT DROP",
                key_defs(object).join(", ")
            ))
            .map_err(|e| fail(e.to_string()))?;
            {
                let mut sink = tx
                    .copy_in("COPY __dbguard_keys FROM STDIN")
                    .map_err(|e| fail(e.to_string()))?;
                let mut lines = std::io::BufReader::new(reader.body());
                let mut line = String::new();
                loop {
                    line.clear();
                    if lines
                        .read_line(&mut line)
                        .map_err(|e| fail(e.to_string()))?
                        == 0
                    {
                        break;
                    }
                    let fields: Vec<&str> = line.trim_end_matches('\n').split('\t').collect();
                    let key: Vec<&str> = positions
                        .iter()
                        .map(|&p| fields.get(p).copied().unwrap_or("\\N"))
                        .collect();
                    writeln!(sink, "{}", key.join("\t")).map_err(|e| fail(e.to_string()))?;
                }
                sink.finish().map_err(|e| fail(e.to_string()))?;
            }
            let keys: Vec<String> = object
                .key
                .iter()
                .map(|k| format!("k.{}", quote_ident(k)))
                .collect();
            let sql = format!(
                "COPY (SELECT {}, md5(t::text) FROM {} t JOIN __dbguard_keys k ON {}) TO STDOUT",
                keys.join(", "),
                object.qualified(),
                key_join(object, "t", "k")
            );
            let mut section = writer
                .section(&format!("{i} after"))
                .map_err(|e| fail(e.to_string()))?;
            let mut out = tx.copy_out(sql.as_str()).map_err(|e| fail(e.to_string()))?;
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = out.read(&mut buf).map_err(|e| fail(e.to_string()))?;
                if n == 0 {
                    break;
                }
                rows += buf[..n].iter().filter(|&&b| b == b'\n').count() as i64;
                section
                    .write_all(&buf[..n])
                    .map_err(|e| fail(e.to_string()))?;
            }
            section.end().map_err(|e| fail(e.to_string()))?;
            drop(out);
            tx.batch_execute("DROP TABLE __dbguard_keys")
                .map_err(|e| fail(e.to_string()))?;
        }
        writer.finish().map_err(|e| fail(e.to_string()))?;
    }
    let _ = tx.rollback();
    let sink = encoder.finish().map_err(|e| fail(e.to_string()))?;
    let hashing = sink.finish().map_err(|e| fail(e.to_string()))?;
    let (buffered, sha256, _) = hashing.finish();
    let file = buffered
        .into_inner()
        .map_err(|e| fail(e.into_error().to_string()))?;
    file.sync_all().map_err(|e| fail(e.to_string()))?;
    snap.record.snapshot.after = Some(AfterImage { sha256, rows });
    store::update(&snap).map_err(|e| fail(e.to_string()))?;
    Ok(())
}

/// Opens the after-image of a snapshot for reading.
fn open_after(path: &std::path::Path, settings: &Settings) -> std::io::Result<Box<dyn BufRead>> {
    let file = std::fs::File::open(path)?;
    let reader: Box<dyn Read> = Box::new(std::io::BufReader::new(file));
    let encrypted = path.to_string_lossy().contains(catalog::ENCRYPTED_SUFFIX);
    let stream: Box<dyn Read> = if encrypted {
        let identity = encryption::require_identity(settings.encryption.as_ref(), "to undo")
            .map_err(|e| std::io::Error::other(e.message))?;
        encryption::decrypt(reader, &identity).map_err(|e| std::io::Error::other(e.message))?
    } else {
        reader
    };
    Ok(Box::new(std::io::BufReader::new(
        zstd::stream::read::Decoder::new(stream)?,
    )))
}

/// The script part that puts an UPDATE's old values back (inside undo's transaction).
pub fn write_put_back(
    out: &mut dyn Write,
    object: &Object,
    index: usize,
    body: &mut dyn Read,
    snapshot_path: &std::path::Path,
    settings: &Settings,
) -> std::io::Result<()> {
    let table = object.qualified();
    let all: Vec<String> = object
        .columns
        .iter()
        .map(|c| format!("{} {}", quote_ident(&c.name), c.type_name))
        .collect();
    let names: Vec<String> = object
        .columns
        .iter()
        .map(|c| quote_ident(&c.name))
        .collect();
    writeln!(
        out,
        "CREATE TEMP TABLE __dbguard_pre ({}) ON COMMIT DROP;",
        all.join(", ")
    )?;
    writeln!(out, "COPY __dbguard_pre ({}) FROM stdin;", names.join(", "))?;
    std::io::copy(body, out)?;
    writeln!(out, "\\.")?;
    writeln!(
        out,
        "CREATE TEMP TABLE __dbguard_post ({}, digest text) ON COMMIT DROP;",
        key_defs(object).join(", ")
    )?;
    writeln!(out, "COPY __dbguard_post FROM stdin;")?;
    let mut after = archive::Reader::new(open_after(&store::after_path(snapshot_path), settings)?)?;
    while let Some(header) = after.next_section()? {
        if header == format!("{index} after") {
            std::io::copy(&mut after.body(), out)?;
        } else {
            std::io::copy(&mut after.body(), &mut std::io::sink())?;
        }
    }
    writeln!(out, "\\.")?;
    let values: Vec<String> = object
        .columns
        .iter()
        .filter(|c| !object.key.contains(&c.name))
        .map(|c| quote_ident(&c.name))
        .collect();
    let pk_tp = key_join(object, "t", "p");
    let pk_pq = key_join(object, "p", "q");
    // Rows that no longer hold what the command wrote are left alone, and counted.
    writeln!(
        out,
        "SELECT 'dbguard: ' || count(*) || ' rows of {} changed since the command (or are gone) and were left as they are' \
         FROM __dbguard_pre p JOIN __dbguard_post q ON {pk_pq} \
         WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE {pk_tp} AND md5(t::text) = q.digest) HAVING count(*) > 0;",
        table.replace('\'', "''")
    )?;
    if !values.is_empty() {
        let source: Vec<String> = values.iter().map(|v| format!("p.{v}")).collect();
        writeln!(
            out,
            "WITH put AS (UPDATE {table} AS t SET ({}) = ROW({}) FROM __dbguard_pre p \
             JOIN __dbguard_post q ON {pk_pq} WHERE {pk_tp} AND md5(t::text) = q.digest RETURNING 1) \
             SELECT 'dbguard: ' || count(*) || ' rows of {} got their old values back' FROM put;",
            values.join(", "),
            source.join(", "),
            table.replace('\'', "''")
        )?;
    }
    writeln!(out, "DROP TABLE __dbguard_pre, __dbguard_post;")?;
    Ok(())
}

/// One COPY text field as an SQL literal of `type_name` (`\N` is NULL).
pub fn copy_field_literal(field: &str, type_name: &str) -> String {
    if field == "\\N" {
        return "NULL".into();
    }
    let mut out = String::new();
    let mut chars = field.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('v') => out.push('\u{b}'),
            Some(d @ '0'..='7') => {
                let mut value = d.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match chars.peek().and_then(|c| c.to_digit(8)) {
                        Some(v) => {
                            value = value * 8 + v;
                            chars.next();
                        }
                        None => break,
                    }
                }
                out.push(char::from_u32(value).unwrap_or('\u{fffd}'));
            }
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    format!("{}::{type_name}", super::model::quote_literal(&out))
}

/// The rows of `object` (an updated-rows pre-image) as they are now, by key: what an undo
/// of it overwrites. Reads the keys from the snapshot's section.
pub fn current_rows(
    settings: &Settings,
    snapshot_path: &std::path::Path,
    index: usize,
    object: &Object,
) -> Result<crate::guard::impact::Selection> {
    let fail = |e: String| backup_error(format!("cannot read the snapshot's keys: {e}"));
    let positions = key_positions(object);
    let mut reader = archive::Reader::new(snapshot::open(snapshot_path, settings)?)
        .map_err(|e| fail(e.to_string()))?;
    let mut tuples = Vec::new();
    while let Some(header) = reader.next_section().map_err(|e| fail(e.to_string()))? {
        if !header.starts_with(&format!("{index} ")) {
            std::io::copy(&mut reader.body(), &mut std::io::sink())
                .map_err(|e| fail(e.to_string()))?;
            continue;
        }
        let lines = std::io::BufReader::new(reader.body());
        for line in lines.lines() {
            let line = line.map_err(|e| fail(e.to_string()))?;
            let fields: Vec<&str> = line.split('\t').collect();
            let literals: Vec<String> = positions
                .iter()
                .map(|&p| {
                    copy_field_literal(
                        fields.get(p).copied().unwrap_or("\\N"),
                        &object.columns[p].type_name,
                    )
                })
                .collect();
            tuples.push(format!("({})", literals.join(", ")));
        }
    }
    let keys: Vec<String> = object
        .key
        .iter()
        .map(|k| format!("t.{}", quote_ident(k)))
        .collect();
    let from_where = if tuples.is_empty() {
        format!("FROM {} AS t WHERE false", object.qualified())
    } else {
        format!(
            "FROM {} AS t WHERE ({}) IN (VALUES {})",
            object.qualified(),
            keys.join(", "),
            tuples.join(", ")
        )
    };
    Ok(crate::guard::impact::Selection {
        table: object.qualified(),
        qualifier: "t".into(),
        from_where,
        functions: Vec::new(),
        is_delete: false,
        has_where: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_text_fields_become_literals() {
        assert_eq!(copy_field_literal("\\N", "text"), "NULL");
        assert_eq!(copy_field_literal("it's", "text"), "'it''s'::text");
        assert_eq!(
            copy_field_literal("a\\tb\\\\c\\n", "text"),
            "'a\tb\\c\n'::text"
        );
        assert_eq!(copy_field_literal("\\101", "text"), "'A'::text");
        assert_eq!(copy_field_literal("42", "integer"), "'42'::integer");
    }
}
