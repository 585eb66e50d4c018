//! Offsite copies and encryption against real parts: a SeaweedFS server that checks request
//! signatures, a real PostgreSQL, real pg_dump / pg_restore. Round trip through the bucket,
//! a server that goes away mid-upload, a blip that a retry rides out, wrong and missing
//! credentials, a damaged remote object, remote retention and `push`, and age encryption
//! (no plaintext on disk or in the bucket, restore with the identity only).

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use support::cli::{dbguard, Done};
use support::s3::{Proxy, S3Server, BUCKET, SECRET_KEY};
use support::{unique_db, PgCluster};

/// A project whose backups go to `<dir>/backups` and offsite to its own prefix.
struct Project {
    dir: tempfile::TempDir,
    prefix: String,
}

impl Project {
    /// `endpoint`: the server's, or a proxy's in front of it. `extra` goes at the end.
    fn new(endpoint: &str, offsite: &str, extra: &str) -> Project {
        Project::with_prefix(
            &S3Server::shared().unique_prefix("t"),
            endpoint,
            offsite,
            extra,
        )
    }

    /// A second machine sharing `prefix` in the bucket.
    fn with_prefix(prefix: &str, endpoint: &str, offsite: &str, extra: &str) -> Project {
        let dir = tempfile::tempdir().unwrap();
        let prefix = prefix.to_string();
        std::fs::write(
            dir.path().join("dbguard.toml"),
            format!(
                "[backup]\ndir = \"backups\"\n\n[offsite]\nurl = \"s3://{BUCKET}/{prefix}\"\n\
                 endpoint = \"{endpoint}\"\nregion = \"us-east-1\"\nretries = 2\nretry_delay = \"300ms\"\n{offsite}\n{extra}"
            ),
        )
        .unwrap();
        Project { dir, prefix }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs dbguard here with the test credentials and a home of its own.
    fn run(&self, args: &[&str]) -> Done {
        self.run_with(args, &[])
    }

    fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> Done {
        let mut run = dbguard(args)
            .cwd(self.path())
            .env("HOME", &self.path().display().to_string())
            .env("AWS_PROFILE", "")
            .env("AWS_SESSION_TOKEN", "");
        for (k, v) in S3Server::shared().credentials().iter().chain(env) {
            run = run.env(k, v);
        }
        run.run()
    }

    fn local(&self) -> Vec<serde_json::Value> {
        self.run(&["backups", "--json"])
            .code(0)
            .json()
            .as_array()
            .unwrap()
            .clone()
    }

    fn remote(&self) -> Vec<serde_json::Value> {
        self.run(&["backups", "--remote", "--json"])
            .code(0)
            .json()
            .as_array()
            .unwrap()
            .clone()
    }

    /// The keys under this project's prefix.
    fn keys(&self) -> Vec<String> {
        S3Server::shared().keys(&self.prefix)
    }

    /// Every file under the backup directory.
    fn files(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let mut dirs = vec![self.path().join("backups")];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                } else {
                    out.push(path);
                }
            }
        }
        out
    }
}

fn seeded_database(cluster: &PgCluster, prefix: &str) -> String {
    let db = unique_db(prefix);
    cluster.create_database(&db);
    cluster.execute(
        &db,
        "CREATE TABLE accounts (id serial PRIMARY KEY, email text NOT NULL, note text);
         INSERT INTO accounts (email, note) SELECT 'user' || g || '@example.com', md5(g::text) FROM generate_series(1, 3000) g;
         CREATE TABLE events (id bigserial PRIMARY KEY, payload jsonb);
         INSERT INTO events (payload) SELECT jsonb_build_object('n', g) FROM generate_series(1, 2000) g;",
    );
    db
}

fn count(cluster: &PgCluster, db: &str, sql: &str) -> i64 {
    cluster.client(db).query_one(sql, &[]).unwrap().get(0)
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[test]
fn round_trip_through_the_bucket_with_retention_and_push() {
    let s3 = S3Server::shared();
    let cluster = PgCluster::shared();
    let db = seeded_database(cluster, "offsite_roundtrip");
    let url = cluster.url(&db);
    let project = Project::new(&s3.endpoint(), "keep = 2", "");

    let done = project
        .run(&["backup", "--url", &url, "--reason", "before the migration"])
        .code(0)
        .stdout_has("copied offsite to s3://")
        .stdout_has("sha256 of the object read back");
    assert!(!done.stderr.contains("retrying"), "{}", done.stderr);

    let local = project.local();
    let remote = project.remote();
    assert_eq!((local.len(), remote.len()), (1, 1));
    assert_eq!(remote[0]["name"], local[0]["name"]);
    assert_eq!(remote[0]["sha256"], local[0]["sha256"]);
    assert_eq!(remote[0]["size_bytes"], local[0]["size_bytes"]);
    assert_eq!(remote[0]["local"], true);
    assert!(local[0]["offsite"]["url"]
        .as_str()
        .unwrap()
        .starts_with(&format!("s3://{BUCKET}/{}/", project.prefix)));
    let name = local[0]["name"].as_str().unwrap().to_string();
    // The sidecar went up last, beside its dump.
    assert_eq!(
        project.keys(),
        [
            format!("{}/{db}/{name}", project.prefix),
            format!("{}/{db}/{name}.json", project.prefix)
        ]
    );
    project
        .run(&["status", "--url", &url])
        .code(0)
        .stdout_has("ok   offsite");
    project
        .run(&["backups", "--remote"])
        .code(0)
        .stdout_has(&name)
        .stdout_has("ENCRYPTED");

    // The disk dies; the data is damaged.
    std::fs::remove_dir_all(project.path().join("backups")).unwrap();
    cluster.execute(&db, "DROP TABLE events; DELETE FROM accounts WHERE id > 5;");
    let done = project
        .run(&["restore", "--from-remote", "latest", "--url", &url, "--yes"])
        .code(0)
        .stdout_has("row counts match");
    assert!(done.stderr.contains("downloaded"), "{}", done.stderr);
    assert_eq!(count(cluster, &db, "SELECT count(*) FROM accounts"), 3000);
    assert_eq!(count(cluster, &db, "SELECT count(*) FROM events"), 2000);
    // The download is a local backup again, and knows it is offsite.
    let local = project.local();
    let pulled = local.iter().find(|b| b["name"] == name.as_str()).unwrap();
    assert!(pulled["offsite"].is_object());

    // Remote retention keeps 2; `push --all` uploads what is missing (the safety backup of
    // the restore, and one taken without upload) but not what retention would drop at once.
    project
        .run(&["backup", "--url", &url, "--no-offsite"])
        .code(0);
    // The newest local backup has no copy yet: the offsite copy is older (an alert).
    project
        .run(&["status", "--url", &url, "--json"])
        .code(1)
        .stdout_has("not_offsite")
        .stdout_has("older than the newest local backup");
    let done = project.run(&["push", "--all"]).code(0);
    assert!(done.stdout.contains("copied"), "{}", done.stdout);
    let remote = project.remote();
    assert_eq!(remote.len(), 2, "keep = 2: {remote:?}");
    let newest_local = &project.local()[0];
    assert_eq!(remote[0]["name"], newest_local["name"]);
    project.run(&["status", "--url", &url]).code(0);
    // prune reads the same policy for the bucket: with keep = 2 nothing more goes.
    project
        .run(&["prune", "--dry-run"])
        .code(0)
        .stdout_has(" (offsite): newest, last")
        .stdout_has("0 of ");
    assert_eq!(project.keys().len(), 4, "sidecars and dumps of the 2 kept");
    project
        .run(&["push"])
        .code(4)
        .stderr_has("no verified backup of");
    let name_now = newest_local["name"].as_str().unwrap();
    project
        .run(&["push", name_now])
        .code(0)
        .stdout_has("already offsite");
}

#[test]
fn a_server_gone_during_the_upload_keeps_the_local_backup() {
    let s3 = S3Server::shared();
    let cluster = PgCluster::shared();
    let db = seeded_database(cluster, "offsite_down");
    let url = cluster.url(&db);
    let proxy = Proxy::new(s3.port());
    let project = Project::new(&proxy.endpoint(), "", "");
    // Every connection dies after 8 KiB of the request: mid-upload, every time.
    proxy.cut_after(Some(8 * 1024));

    let done = project.run(&["backup", "--url", &url]).code(4);
    assert!(
        done.stderr.contains("retrying in 300ms") && done.stderr.contains("retrying in 600ms"),
        "retries with doubling delays: {}",
        done.stderr
    );
    assert!(
        done.stderr.contains("gave up after 3 attempts"),
        "{}",
        done.stderr
    );
    assert!(
        done.stderr
            .contains("the backup is kept locally and verified"),
        "{}",
        done.stderr
    );
    assert!(done.stdout.contains("backed up"), "{}", done.stdout);
    let local = project.local();
    assert_eq!(local.len(), 1, "the local backup stays listed");
    assert!(local[0]["offsite"].is_null());
    let name = local[0]["name"].as_str().unwrap();
    // Nothing half-written became a remote backup.
    assert!(project.remote().is_empty());
    assert!(project.keys().is_empty(), "{:?}", project.keys());
    let status = project.run(&["status", "--url", &url]).code(1);
    assert!(status.stdout.contains("FAIL offsite"), "{}", status.stdout);
    assert!(status.stdout.contains(name), "{}", status.stdout);

    // The server is back: push uploads what is missing.
    proxy.cut_after(None);
    project
        .run(&["push", "--url", &url])
        .env_check()
        .code(0)
        .stdout_has("copied");
    assert_eq!(project.remote().len(), 1);
    project.run(&["status", "--url", &url]).code(0);
    project
        .run(&["restore", "--dry-run", name, "--url", &url])
        .code(0);
}

trait EnvCheck {
    fn env_check(self) -> Self;
}

impl EnvCheck for Done {
    /// No secret in any output.
    fn env_check(self) -> Self {
        assert!(!self.stdout.contains(SECRET_KEY) && !self.stderr.contains(SECRET_KEY));
        self
    }
}

#[test]
fn a_blip_is_ridden_out_by_a_retry() {
    let s3 = S3Server::shared();
    let cluster = PgCluster::shared();
    let db = seeded_database(cluster, "offsite_blip");
    let proxy = Proxy::new(s3.port());
    let project = Project::new(&proxy.endpoint(), "", "");
    // More refusals than the client's own quick retries of one request: the first attempt
    // fails, the second (after 300ms) goes through.
    proxy.refuse_next(3);
    let done = project
        .run(&["backup", "--url", &cluster.url(&db)])
        .code(0)
        .stdout_has("copied offsite");
    assert!(done.stderr.contains("attempt 1 of 3"), "{}", done.stderr);
    assert!(proxy.refused() >= 3);
    assert_eq!(project.remote().len(), 1);
}

#[test]
fn wrong_or_missing_credentials_are_clear_and_never_printed() {
    let s3 = S3Server::shared();
    let cluster = PgCluster::shared();
    let db = seeded_database(cluster, "offsite_creds");
    let url = cluster.url(&db);
    let project = Project::new(&s3.endpoint(), "", "");

    let wrong = "Wr0ng-S3cret-Value-1234";
    let done = project
        .run_with(
            &["backup", "--url", &url],
            &[("AWS_SECRET_ACCESS_KEY", wrong)],
        )
        .code(4);
    assert!(
        done.stderr.contains("SignatureDoesNotMatch") || done.stderr.contains("InvalidAccessKeyId"),
        "{}",
        done.stderr
    );
    assert!(
        done.stderr.contains("check the credentials"),
        "{}",
        done.stderr
    );
    assert!(
        !done.stderr.contains("retrying"),
        "not retried: {}",
        done.stderr
    );
    for text in [&done.stdout, &done.stderr] {
        assert!(
            !text.contains(wrong) && !text.contains(SECRET_KEY),
            "{text}"
        );
    }
    assert_eq!(project.local().len(), 1, "the local backup is kept");

    // No credentials anywhere: said before any request.
    let done = project
        .run_with(
            &["push", "--all"],
            &[("AWS_ACCESS_KEY_ID", ""), ("AWS_SECRET_ACCESS_KEY", "")],
        )
        .code(4)
        .stderr_has("no AWS credentials found")
        .stderr_has("~/.aws/credentials");
    assert!(!done.stderr.contains(SECRET_KEY));

    // A profile in the shared credentials file works like the environment.
    let aws = project.path().join(".aws");
    std::fs::create_dir_all(&aws).unwrap();
    std::fs::write(
        aws.join("credentials"),
        format!(
            "[default]\naws_access_key_id = {}\naws_secret_access_key = {SECRET_KEY}\n",
            support::s3::ACCESS_KEY
        ),
    )
    .unwrap();
    project
        .run_with(
            &["push", "--all"],
            &[("AWS_ACCESS_KEY_ID", ""), ("AWS_SECRET_ACCESS_KEY", "")],
        )
        .env_check()
        .code(0)
        .stdout_has("copied");
}

#[test]
fn a_damaged_remote_object_is_refused_and_nothing_is_restored() {
    let s3 = S3Server::shared();
    let cluster = PgCluster::shared();
    let db = seeded_database(cluster, "offsite_damaged");
    let url = cluster.url(&db);
    let project = Project::new(&s3.endpoint(), "", "");
    project.run(&["backup", "--url", &url]).code(0);
    let name = project.local()[0]["name"].as_str().unwrap().to_string();

    let key = format!("{}/{db}/{name}", project.prefix);
    let mut bytes = s3.get(&key);
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x20;
    s3.overwrite(&key, bytes);
    std::fs::remove_dir_all(project.path().join("backups")).unwrap();
    cluster.execute(&db, "DELETE FROM accounts WHERE id > 10;");

    let done = project
        .run(&["restore", "--from-remote", &name, "--url", &url, "--yes"])
        .code(4);
    assert!(done.stderr.contains("damaged"), "{}", done.stderr);
    assert!(
        done.stderr.contains("nothing was restored"),
        "{}",
        done.stderr
    );
    assert_eq!(count(cluster, &db, "SELECT count(*) FROM accounts"), 10);
    assert!(
        project.local().is_empty(),
        "no backup from the damaged download"
    );
    let leftovers: Vec<_> = project
        .files()
        .into_iter()
        .filter(|p| !p.ends_with(".dbguard.lock"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn encrypted_backups_hold_no_plaintext_and_restore_only_with_the_identity() {
    let s3 = S3Server::shared();
    let cluster = PgCluster::shared();
    let db = unique_db("offsite_age");
    cluster.create_database(&db);
    let marker = "PLAINTEXT-MARKER-9c2f41";
    cluster.execute(
        &db,
        &format!(
            "CREATE TABLE secret_marker_table (id int, value text);
             INSERT INTO secret_marker_table SELECT g, '{marker}-' || g || md5(g::text) FROM generate_series(1, 20000) g;"
        ),
    );
    let url = cluster.url(&db);
    let keys = tempfile::tempdir().unwrap();
    let key = keys.path().join("keys/key.txt");

    // keygen: a private file, the public key on stdout, never overwritten.
    let done = dbguard(&["keygen", "--output", &key.display().to_string()])
        .cwd(keys.path())
        .run()
        .code(0);
    let public = done.stdout.trim().to_string();
    assert!(public.starts_with("age1"), "{public}");
    assert!(!done.stdout.contains("AGE-SECRET-KEY"));
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(std::fs::read_to_string(&key)
        .unwrap()
        .contains("AGE-SECRET-KEY-1"));
    dbguard(&["keygen", "--output", &key.display().to_string()])
        .cwd(keys.path())
        .run()
        .code(2)
        .stderr_has("not overwriting");
    let other_key = keys.path().join("other.txt");
    dbguard(&["keygen", "-o", &other_key.display().to_string()])
        .cwd(keys.path())
        .run()
        .code(0);

    let encryption = format!(
        "[encryption]\nrecipients = [\"{public}\"]\nidentity_file = \"{}\"\n",
        key.display()
    );
    let project = Project::new(&s3.endpoint(), "", &encryption);
    project
        .run(&["backup", "--url", &url])
        .code(0)
        .stdout_has("age-encrypted, verified")
        .stdout_has("copied offsite");
    let local = project.local();
    assert_eq!(local[0]["encrypted"], true);
    assert_eq!(local[0]["recipients"][0], public.as_str());
    assert!(
        local[0]["verification"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v.as_str().unwrap().contains("age decryption")),
        "{local:?}"
    );
    let name = local[0]["name"].as_str().unwrap().to_string();
    assert!(name.ends_with(".dump.zst.age"), "{name}");
    // The read-back decrypted and decompressed all of it, not just what pg_restore --list
    // needed (the table of contents).
    assert!(
        local[0]["uncompressed_bytes"].as_u64().unwrap() > 1_000_000,
        "{local:?}"
    );

    // No plaintext on disk (the dump) or in the bucket (dump and sidecar).
    let dump = std::fs::read(local[0]["path"].as_str().unwrap()).unwrap();
    assert!(dump.starts_with(b"age-encryption.org/v1"));
    assert!(!contains(&dump, marker));
    let remote_dump = s3.get(&format!("{}/{db}/{name}", project.prefix));
    assert_eq!(remote_dump, dump);
    let remote_sidecar = s3.get(&format!("{}/{db}/{name}.json", project.prefix));
    assert!(!contains(&remote_sidecar, marker));
    assert!(!contains(&remote_sidecar, "secret_marker_table"));
    assert!(contains(&remote_sidecar, "BEGIN AGE ENCRYPTED FILE"));

    // Without the right identity: a clear error, and nothing changes (no safety backup, no
    // download, no restore).
    cluster.execute(&db, "DELETE FROM secret_marker_table WHERE id > 7;");
    // (An identity that is not among the recipients is refused outright, so this machine
    // lists its own key: it simply is not the key the backup was encrypted to.)
    let other_public = identity_public_key(&other_key);
    let wrong = Project::with_prefix(
        &project.prefix,
        &s3.endpoint(),
        "",
        &format!(
            "[encryption]\nrecipients = [\"{other_public}\"]\nidentity_file = \"{}\"\n",
            other_key.display()
        ),
    );
    let done = wrong
        .run(&["restore", "--from-remote", "latest", "--url", &url, "--yes"])
        .code(4);
    assert!(done.stderr.contains("is encrypted to"), "{}", done.stderr);
    assert!(
        done.stderr.contains("nothing was restored"),
        "{}",
        done.stderr
    );
    assert!(wrong.files().is_empty(), "{:?}", wrong.files());
    // Locally too: the backup is there, the key is not.
    let no_identity = Project::new(
        &s3.endpoint(),
        "",
        &format!("[encryption]\nrecipients = [\"{public}\"]\n"),
    );
    copy_dir(
        &project.path().join("backups"),
        &no_identity.path().join("backups"),
    );
    let done = no_identity
        .run(&["restore", &name, "--url", &url, "--yes"])
        .code(4)
        .stderr_has("needs the age identity");
    assert!(done.stderr.contains("identity_file"), "{}", done.stderr);
    assert_eq!(no_identity.local().len(), 1, "no safety backup was taken");
    assert_eq!(
        count(cluster, &db, "SELECT count(*) FROM secret_marker_table"),
        7
    );

    // A machine with only the public key still takes (checksum-verified) backups.
    let done = no_identity
        .run(&["backup", "--url", &url, "--no-offsite"])
        .code(0)
        .stdout_has("contents not checked");
    assert!(done.stdout.contains("age-encrypted"), "{}", done.stdout);

    // With the identity: from the bucket, into an empty backup directory.
    std::fs::remove_dir_all(project.path().join("backups")).unwrap();
    project
        .run(&["restore", "--from-remote", &name, "--url", &url, "--yes"])
        .code(0)
        .stdout_has("row counts match");
    assert_eq!(
        count(cluster, &db, "SELECT count(*) FROM secret_marker_table"),
        20000
    );
    // The safety backup it took is encrypted too: no file holds the marker.
    let files = project.files();
    assert!(files.len() >= 4, "{files:?}");
    for path in files {
        assert!(
            !contains(&std::fs::read(&path).unwrap(), marker),
            "{}",
            path.display()
        );
    }
}

/// The public key written in an identity file's header.
fn identity_public_key(identity: &Path) -> String {
    std::fs::read_to_string(identity)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap()
        .to_string()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn nothing_in_the_bucket_is_ever_overwritten() {
    let s3 = S3Server::shared();
    let cluster = PgCluster::shared();
    let db = seeded_database(cluster, "offsite_conflict");
    let url = cluster.url(&db);
    let project = Project::new(&s3.endpoint(), "", "");
    project
        .run(&["backup", "--url", &url, "--no-offsite"])
        .code(0);
    let name = project.local()[0]["name"].as_str().unwrap().to_string();
    let dump_key = format!("{}/{db}/{name}", project.prefix);

    // Someone else's dump of the same name, left without a sidecar.
    s3.overwrite(&dump_key, b"not this backup".to_vec());
    project
        .run(&["push", &name])
        .code(4)
        .stderr_has("exists without a sidecar and differs");
    assert_eq!(s3.get(&dump_key), b"not this backup");

    // Someone else's complete backup of the same name.
    let theirs = serde_json::json!({ "sha256": "0".repeat(64) }).to_string();
    s3.overwrite(&format!("{dump_key}.json"), theirs.clone().into_bytes());
    project
        .run(&["push", &name])
        .code(4)
        .stderr_has("already holds a different backup");
    assert_eq!(s3.get(&format!("{dump_key}.json")), theirs.as_bytes());
    assert_eq!(s3.get(&dump_key), b"not this backup");
    assert!(project.local()[0]["offsite"].is_null());
}

#[test]
fn snapshots_go_offsite_without_pushing_backups_out() {
    let s3 = S3Server::shared();
    let cluster = PgCluster::shared();
    let db = seeded_database(cluster, "offsite_snapshots");
    let url = cluster.url(&db);
    // One remote backup kept, two remote snapshots.
    let project = Project::new(&s3.endpoint(), "keep = 1", "[undo]\nkeep = 2\n");
    project.run(&["backup", "--url", &url]).code(0);
    let backup = project.remote()[0]["name"].as_str().unwrap().to_string();

    for n in 0..3 {
        let sql = format!("DELETE FROM accounts WHERE id = {}", n + 1);
        project
            .run_with(
                &["run", "--yes", "--", "psql", &url, "-c", &sql],
                &[("PATH", &std::env::var("PATH").unwrap())],
            )
            .code(0)
            .stderr_has("saved snapshot");
    }
    // The bucket holds the backup and the two newest snapshots; neither listing nor
    // `restore --from-remote latest` takes a snapshot for a backup.
    let remote = project.remote();
    assert_eq!(remote.len(), 1, "{remote:?}");
    assert_eq!(remote[0]["name"], backup.as_str());
    let snapshot_keys = project
        .keys()
        .iter()
        .filter(|k| !k.contains(&backup) && !k.ends_with(".json"))
        .count();
    assert_eq!(snapshot_keys, 2, "{:?}", project.keys());
}
