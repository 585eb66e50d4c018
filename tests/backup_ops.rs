//! Running backups as an operator would, against a real PostgreSQL: retention tiers and
//! prune, scheduled runs and the user's real crontab, webhook notifications to a real local
//! HTTP server, every status alert firing and clearing, and restore hooks.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Mutex;
use std::time::Duration;

use support::cli::dbguard;
use support::{closed_port, unique_db, PgCluster, Project};

fn seeded(cluster: &PgCluster, prefix: &str) -> String {
    let db = unique_db(prefix);
    cluster.create_database(&db);
    cluster.execute(
        &db,
        "CREATE TABLE t (id serial PRIMARY KEY, payload text);
         INSERT INTO t (payload) SELECT md5(g::text) FROM generate_series(1, 2000) g;",
    );
    db
}

fn count(cluster: &PgCluster, db: &str) -> i64 {
    cluster
        .client(db)
        .query_one("SELECT count(*) FROM t", &[])
        .unwrap()
        .get(0)
}

fn backup(project: &Project, url: &str) {
    dbguard(&["backup", "--url", url])
        .cwd(project.path())
        .run()
        .code(0);
}

fn sidecar_path(dump: &Path) -> PathBuf {
    PathBuf::from(format!("{}.json", dump.display()))
}

/// Rewrites fields of a backup's sidecar.
fn edit_sidecar(dump: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let path = sidecar_path(dump);
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut json);
    std::fs::write(&path, serde_json::to_vec_pretty(&json).unwrap()).unwrap();
}

fn set_times(json: &mut serde_json::Value, at: chrono::DateTime<chrono::Utc>) {
    json["started_at"] = serde_json::json!(at - chrono::Duration::seconds(2));
    json["finished_at"] = serde_json::json!(at);
}

fn newest_path(project: &Project) -> PathBuf {
    PathBuf::from(project.backups()[0]["path"].as_str().unwrap())
}

fn write_config(project: &Project, text: &str) {
    std::fs::write(
        project.path().join("dbguard.toml"),
        format!("[backup]\ndir = \"backups\"\n{text}"),
    )
    .unwrap();
}

#[test]
fn retention_tiers_keep_the_newest_of_each_day_week_and_month() {
    let cluster = PgCluster::shared();
    let db = seeded(cluster, "tiers");
    let url = cluster.url(&db);
    let project = Project::new("keep = 1\nkeep_daily = 3\nkeep_weekly = 2\nkeep_monthly = 2\n");
    backup(&project, &url);
    let real = newest_path(&project);
    let dir = real.parent().unwrap().to_path_buf();
    // Copies of one real backup, their times days, weeks and months apart (2026-03-20 is a
    // Friday of ISO week 12).
    // Local times: days, weeks and months are the local calendar's.
    let at = |m: u32, d: u32, h: u32| {
        use chrono::TimeZone;
        chrono::Local
            .with_ymd_and_hms(2026, m, d, h, 0, 0)
            .unwrap()
            .with_timezone(&chrono::Utc)
    };
    let times = [
        ("a", at(3, 20, 12)), // newest: kept by every rule
        ("b", at(3, 20, 8)),  // same day: goes
        ("c", at(3, 19, 12)), // daily
        ("d", at(3, 18, 12)), // daily
        ("e", at(3, 17, 12)), // beyond 3 days, same week as a: goes
        ("f", at(3, 10, 12)), // weekly (week 11)
        ("g", at(3, 3, 12)),  // beyond 2 weeks, same month as a: goes
        ("h", at(2, 15, 12)), // monthly (February)
        ("i", at(1, 15, 12)), // beyond 2 months: goes
    ];
    for (tag, when) in times {
        let name = format!("backup_{db}_{tag}.dump.zst");
        std::fs::copy(&real, dir.join(&name)).unwrap();
        std::fs::copy(sidecar_path(&real), sidecar_path(&dir.join(&name))).unwrap();
        edit_sidecar(&dir.join(&name), |j| {
            j["name"] = serde_json::json!(name);
            set_times(j, when);
        });
    }
    std::fs::remove_file(sidecar_path(&real)).unwrap();
    std::fs::remove_file(&real).unwrap();

    let name = |tag: &str| format!("backup_{db}_{tag}.dump.zst");
    let done = dbguard(&["prune", "--dry-run"])
        .cwd(project.path())
        .run()
        .code(0)
        .stdout_has(&format!(
            "keep {}: newest, last, daily, weekly, monthly",
            name("a")
        ))
        .stdout_has(&format!("keep {}: daily", name("c")))
        .stdout_has(&format!("keep {}: weekly", name("f")))
        .stdout_has(&format!("keep {}: monthly", name("h")))
        .stdout_has("4 of 9 backups would be removed")
        .stdout_has("nothing was changed");
    for tag in ["b", "e", "g", "i"] {
        assert!(
            done.stdout.contains(&format!("would remove {}", name(tag))),
            "{tag}: {}",
            done.stdout
        );
    }
    assert_eq!(project.backups().len(), 9, "a dry run removes nothing");

    // `backups` says why each one is kept.
    let listed = project.backups();
    let kept_by = |tag: &str| {
        listed
            .iter()
            .find(|b| b["name"] == name(tag).as_str())
            .map(|b| b["kept_by"].clone())
            .unwrap()
    };
    assert_eq!(kept_by("d"), serde_json::json!(["daily"]));
    assert_eq!(kept_by("b"), serde_json::json!([]));
    dbguard(&["backups"])
        .cwd(project.path())
        .run()
        .code(0)
        .stdout_has("KEPT BY")
        .stdout_has("next prune removes it");

    dbguard(&["prune"])
        .cwd(project.path())
        .run()
        .code(0)
        .stdout_has(&format!("removed {}", name("b")));
    let mut left: Vec<String> = project
        .backups()
        .iter()
        .map(|b| b["name"].as_str().unwrap().to_string())
        .collect();
    left.sort();
    let mut expected: Vec<String> = ["a", "c", "d", "f", "h"].map(name).to_vec();
    expected.sort();
    assert_eq!(left, expected);
    for tag in ["b", "e", "g", "i"] {
        assert!(!dir.join(name(tag)).exists());
        assert!(!sidecar_path(&dir.join(name(tag))).exists());
    }

    // keep_within counts from the newest backup; the newest verified one always stays.
    write_config(&project, "keep = 1\nkeep_within = \"2d\"\n");
    dbguard(&["prune"]).cwd(project.path()).run().code(0);
    let mut left: Vec<String> = project
        .backups()
        .iter()
        .map(|b| b["name"].as_str().unwrap().to_string())
        .collect();
    left.sort();
    assert_eq!(left, [name("a"), name("c"), name("d")]);
    write_config(&project, "keep = 1\n");
    dbguard(&["prune"]).cwd(project.path()).run().code(0);
    assert_eq!(project.backups().len(), 1);
    assert_eq!(project.backups()[0]["name"], name("a").as_str());
}

/// A local HTTP server answering each request with the next status of `statuses` (then 200),
/// handing over each request's first line and body.
fn webhook_server(statuses: Vec<u16>) -> (u16, mpsc::Receiver<(String, serde_json::Value)>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut statuses = statuses.into_iter();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            let _ = reader.read_line(&mut request_line);
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let status = statuses.next().unwrap_or(200);
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            let json = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
            if tx.send((request_line.trim().to_string(), json)).is_err() {
                return;
            }
        }
    });
    (port, rx)
}

#[test]
fn notifications_reach_a_webhook_and_a_dead_one_never_fails_the_backup() {
    let cluster = PgCluster::shared();
    let db = seeded(cluster, "notify");
    let url = cluster.url(&db);
    let token = "hc-SECRET-token-42";
    // The first request gets a 503: retried.
    let (port, requests) = webhook_server(vec![503]);
    let project = Project::new(&format!(
        "[notify]\non_success = \"http://127.0.0.1:{port}/ping/{token}\"\n\
         on_failure = \"http://127.0.0.1:{port}/ping/{token}/fail\"\ntimeout = \"5s\"\nretries = 2\n"
    ));
    dbguard(&["backup", "--url", &url])
        .cwd(project.path())
        .run()
        .code(0)
        .never_shows(token);
    let (first, _) = requests.recv_timeout(Duration::from_secs(10)).unwrap();
    let (line, body) = requests.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(first, format!("POST /ping/{token} HTTP/1.1"));
    assert_eq!(line, first, "retried after the 503");
    let listed = project.backups();
    assert_eq!(body["status"], "success");
    assert_eq!(body["database"], db.as_str());
    assert_eq!(body["kind"], "manual");
    assert_eq!(body["sha256"], listed[0]["sha256"]);
    assert_eq!(body["size_bytes"], listed[0]["size_bytes"]);
    assert!(body["duration_seconds"].as_f64().is_some());
    assert!(body["error"].is_null());

    // A failed backup is reported to on_failure, with the error.
    let bad = format!("postgresql://postgres@127.0.0.1:{}/{db}", closed_port());
    dbguard(&["backup", "--url", &bad])
        .cwd(project.path())
        .run()
        .code(4)
        .never_shows(token);
    let (line, body) = requests.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(line, format!("POST /ping/{token}/fail HTTP/1.1"));
    assert_eq!(body["status"], "failure");
    assert!(
        body["error"].as_str().unwrap().contains("connect"),
        "{body}"
    );

    // A monitor that is down: the backup still succeeds, the failure is said, masked.
    let down = Project::new(&format!(
        "[notify]\non_success = \"http://127.0.0.1:{}/ping/{token}\"\ntimeout = \"1s\"\nretries = 1\n",
        closed_port()
    ));
    let done = dbguard(&["backup", "--url", &url])
        .cwd(down.path())
        .run()
        .code(0)
        .stderr_has("notification to http://127.0.0.1:")
        .stderr_has("/*** failed after 2 attempts")
        .stderr_has("the backup itself is not affected")
        .never_shows(token);
    assert!(done.stdout.contains("verified"), "{}", done.stdout);
    assert_eq!(down.backups().len(), 1);
}

/// The user's crontab is the machine's: tests that change it take turns, and put back what
/// was there.
static CRONTAB: Mutex<()> = Mutex::new(());

struct SavedCrontab(Option<String>);

impl SavedCrontab {
    fn save() -> SavedCrontab {
        let out = std::process::Command::new("crontab")
            .arg("-l")
            .output()
            .expect("crontab is installed (scripts/test installs Debian's cron)");
        SavedCrontab(
            out.status
                .success()
                .then(|| String::from_utf8_lossy(&out.stdout).into()),
        )
    }

    fn set(text: &str) {
        let mut child = std::process::Command::new("crontab")
            .arg("-")
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        assert!(child.wait().unwrap().success());
    }

    fn current() -> String {
        let out = std::process::Command::new("crontab")
            .arg("-l")
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into()
    }
}

impl Drop for SavedCrontab {
    fn drop(&mut self) {
        match &self.0 {
            Some(text) => SavedCrontab::set(text),
            None => {
                let _ = std::process::Command::new("crontab").arg("-r").status();
            }
        }
    }
}

#[test]
fn schedule_install_list_remove_in_the_real_crontab() {
    let _turn = CRONTAB.lock().unwrap_or_else(|e| e.into_inner());
    let _saved = SavedCrontab::save();
    SavedCrontab::set("# someone else's job\n17 4 * * * true\n");
    let home = tempfile::tempdir().unwrap();
    let cluster = PgCluster::shared();
    let project = Project::for_database(&cluster.url("postgres"), "");
    let project_dir = project.path().canonicalize().unwrap();
    let run = |args: &[&str]| {
        dbguard(args)
            .cwd(project.path())
            .env("HOME", &home.path().display().to_string())
            .run()
    };

    run(&["schedule", "install", "--every", "1h", "--with", "cron"])
        .code(0)
        .stdout_has("scheduled backup of")
        .stdout_has("(cron)");
    let tab = SavedCrontab::current();
    assert!(tab.contains("17 4 * * * true"), "other jobs stay: {tab}");
    let job = tab
        .lines()
        .find(|l| l.contains("backup --scheduled"))
        .unwrap_or_else(|| panic!("no job in {tab}"));
    assert!(job.contains(" * * * * cd '"), "hourly: {job}");
    assert!(job.contains(&project_dir.display().to_string()), "{job}");
    assert!(tab.contains("# dbguard schedule "), "{tab}");
    run(&["schedule", "list"])
        .code(0)
        .stdout_has("cron: ")
        .stdout_has("--scheduled");
    assert!(project.path().join("backups/schedule.json").is_file());

    // Installing again replaces the entry.
    run(&["schedule", "install", "--cron", "0 3 * * *"])
        .code(0)
        .stdout_has("\"0 3 * * *\"");
    let tab = SavedCrontab::current();
    assert_eq!(tab.matches("backup --scheduled").count(), 1, "{tab}");
    assert!(tab.contains("0 3 * * * cd '"), "{tab}");
    run(&["schedule", "install", "--cron", "0 3 * *"])
        .code(2)
        .stderr_has("five fields");

    // The job line runs as cron would run it: a shell, from anywhere.
    let command = tab
        .lines()
        .find(|l| l.contains("backup --scheduled"))
        .unwrap()
        .trim_start_matches("0 3 * * * ")
        .to_string();
    let status = std::process::Command::new("sh")
        .args(["-c", &command])
        .env("HOME", home.path())
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(project.backups()[0]["kind"], "scheduled");

    run(&["schedule", "remove"])
        .code(0)
        .stdout_has("removed the crontab entry");
    let tab = SavedCrontab::current();
    assert!(!tab.contains("dbguard"), "{tab}");
    assert!(tab.contains("17 4 * * * true"), "{tab}");
    assert!(!project.path().join("backups/schedule.json").exists());
    run(&["schedule", "list"])
        .code(0)
        .stdout_has("no scheduled backup");
    run(&["schedule", "remove"])
        .code(0)
        .stdout_has("no scheduled backup");
}

#[test]
fn scheduled_runs_log_take_turns_and_fail_loudly() {
    let cluster = PgCluster::shared();
    let db = seeded(cluster, "scheduled");
    let url = cluster.url(&db);
    let project = Project::for_database(&url, "");
    let done = dbguard(&["backup", "--scheduled"])
        .cwd(project.path())
        .run()
        .code(0);
    assert!(
        done.stdout.is_empty() && done.stderr.is_empty(),
        "silent when it works (cron mails any output): {}{}",
        done.stdout,
        done.stderr
    );
    let listed = project.backups();
    assert_eq!(listed[0]["kind"], "scheduled");
    let log_path = project.path().join("backups/scheduled.log");
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains(&format!("backing up {db}")), "{log}");
    assert!(log.contains("ok: "), "{log}");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&log_path).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // Another scheduled run still going: this one waits for the next turn.
    let lock = std::fs::OpenOptions::new()
        .write(true)
        .open(
            project
                .path()
                .join(format!("backups/{db}/.dbguard-scheduled.lock")),
        )
        .unwrap();
    lock.lock().unwrap();
    dbguard(&["backup", "--scheduled"])
        .cwd(project.path())
        .run()
        .code(0);
    drop(lock);
    assert_eq!(project.backups().len(), 1, "no overlapping run");
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        log.contains("skipped") && log.contains("still running"),
        "{log}"
    );

    // A failure is non-zero, on stderr (cron mails it) and in the log.
    let secret = "SchedPw99";
    let bad = format!(
        "postgresql://postgres:{secret}@127.0.0.1:{}/{db}",
        closed_port()
    );
    dbguard(&["backup", "--scheduled", "--url", &bad])
        .cwd(project.path())
        .run()
        .code(4)
        .stderr_has("error:")
        .never_shows(secret);
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains("failed: "), "{log}");
    assert!(!log.contains(secret));
}

fn status(project: &Project, url: &str) -> support::Done {
    dbguard(&["status", "--url", url, "--format", "json"])
        .cwd(project.path())
        .run()
}

fn alerts(done: &support::Done) -> Vec<String> {
    done.json()["databases"][0]["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect()
}

fn assert_alerts(project: &Project, url: &str, expected: &[&str]) {
    let done = status(project, url);
    assert_eq!(alerts(&done), expected, "{}", done.stdout);
    assert_eq!(
        done.code,
        i32::from(!expected.is_empty()),
        "{}",
        done.stdout
    );
}

#[test]
fn each_status_alert_fires_and_clears() {
    let cluster = PgCluster::shared();
    let db = seeded(cluster, "alerts");
    let url = cluster.url(&db);
    let project = Project::new("max_age = \"1h\"\n");
    assert_alerts(&project, &url, &["verified backup", "count"]);
    backup(&project, &url);
    assert_alerts(&project, &url, &[]);

    // Age: [backup] max_age x 1.5 by default, or [status] max_age.
    let newest = newest_path(&project);
    edit_sidecar(&newest, |j| {
        set_times(j, chrono::Utc::now() - chrono::Duration::minutes(100))
    });
    assert_alerts(&project, &url, &["age"]);
    dbguard(&["status", "--url", &url, "--format", "prometheus"])
        .cwd(project.path())
        .run()
        .code(1)
        .stdout_has(&format!("dbguard_backup_ok{{database=\"{db}\"}} 0"))
        .stdout_has(&format!(
            "dbguard_backup_alert{{database=\"{db}\",check=\"age\"}} 1"
        ));
    write_config(&project, "max_age = \"1h\"\n[status]\nmax_age = \"2h\"\n");
    assert_alerts(&project, &url, &[]);

    // min_size.
    write_config(&project, "[status]\nmin_size = \"100MiB\"\n");
    assert_alerts(&project, &url, &["size"]);
    write_config(&project, "[status]\nmin_size = \"1kB\"\n");
    assert_alerts(&project, &url, &[]);

    // Half the median of the backups before it.
    backup(&project, &url);
    cluster.execute(&db, "TRUNCATE t");
    backup(&project, &url);
    assert_alerts(&project, &url, &["size"]);
    cluster.execute(
        &db,
        "INSERT INTO t (payload) SELECT md5(g::text) FROM generate_series(1, 2000) g",
    );
    backup(&project, &url);
    assert_alerts(&project, &url, &[]);

    // Prometheus metrics for the same state.
    let done = dbguard(&["status", "--url", &url, "--format", "prometheus"])
        .cwd(project.path())
        .run()
        .code(0)
        .stdout_has("# TYPE dbguard_backup_age_seconds gauge")
        .stdout_has(&format!("dbguard_backup_ok{{database=\"{db}\"}} 1"))
        .stdout_has(&format!("dbguard_backup_count{{database=\"{db}\"}} 4"))
        .stdout_has(&format!(
            "dbguard_backup_alert{{database=\"{db}\",check=\"age\"}} 0"
        ));
    assert!(done
        .stdout
        .contains("dbguard_backup_last_success_timestamp_seconds{"));

    // Offsite: the newest local backup needs a checked copy (the record is what `push`
    // writes after reading the copy back).
    let offsite = "[offsite]\nurl = \"s3://status-bucket/x\"\nauto = false\n";
    write_config(&project, offsite);
    assert_alerts(&project, &url, &["offsite"]);
    let record = |j: &mut serde_json::Value| {
        j["offsite"] = serde_json::json!({
            "url": "s3://status-bucket/x/db/name",
            "uploaded_at": chrono::Utc::now(),
            "verification": ["sha256 of the object read back from the store"],
        })
    };
    edit_sidecar(&newest_path(&project), record);
    assert_alerts(&project, &url, &[]);
    backup(&project, &url);
    let done = status(&project, &url);
    assert_eq!(alerts(&done), ["offsite"]);
    assert!(done.stdout.contains("older than the newest local backup"));
    edit_sidecar(&newest_path(&project), record);
    assert_alerts(&project, &url, &[]);

    // Encryption configured, newest backup not encrypted.
    let keys = tempfile::tempdir().unwrap();
    let key = keys.path().join("key.txt");
    let public = dbguard(&["keygen", "-o", &key.display().to_string()])
        .cwd(keys.path())
        .run()
        .code(0)
        .stdout
        .trim()
        .to_string();
    write_config(
        &project,
        &format!(
            "[encryption]\nrecipients = [\"{public}\"]\nidentity_file = \"{}\"\n",
            key.display()
        ),
    );
    assert_alerts(&project, &url, &["encryption"]);
    backup(&project, &url);
    assert_alerts(&project, &url, &[]);
}

#[test]
fn missed_scheduled_runs_alert_until_a_scheduled_backup_comes() {
    let _turn = CRONTAB.lock().unwrap_or_else(|e| e.into_inner());
    let _saved = SavedCrontab::save();
    let home = tempfile::tempdir().unwrap();
    let cluster = PgCluster::shared();
    let db = seeded(cluster, "missed");
    let url = cluster.url(&db);
    let project = Project::for_database(&url, "");
    dbguard(&["schedule", "install", "--every", "1h", "--with", "cron"])
        .cwd(project.path())
        .env("HOME", &home.path().display().to_string())
        .run()
        .code(0);
    backup(&project, &url);
    assert_alerts(&project, &url, &[]);
    // Installed three hours ago, and no scheduled backup since: runs were missed (a backup
    // by hand does not count).
    let record = project.path().join("backups/schedule.json");
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&record).unwrap()).unwrap();
    json["installed_at"] = serde_json::json!(chrono::Utc::now() - chrono::Duration::hours(3));
    std::fs::write(&record, serde_json::to_vec(&json).unwrap()).unwrap();
    let done = status(&project, &url);
    assert_eq!(alerts(&done), ["schedule"], "{}", done.stdout);
    assert!(
        done.stdout.contains("no scheduled backup yet"),
        "{}",
        done.stdout
    );
    dbguard(&["backup", "--scheduled"])
        .cwd(project.path())
        .run()
        .code(0);
    assert_alerts(&project, &url, &[]);
    dbguard(&["schedule", "remove"])
        .cwd(project.path())
        .env("HOME", &home.path().display().to_string())
        .run()
        .code(0);
}

fn hook(log: &Path, word: &str, cluster: &PgCluster, db: &str) -> String {
    // Records the row count the hook sees, so the log shows what ran before and after.
    format!(
        "[\"sh\", \"-c\", \"echo {word} $DBGUARD_DATABASE ${{DBGUARD_RESTORE_OK:-}} $({psql} -tA -h {host} -p {port} -U postgres -d {db} -c 'SELECT count(*) FROM t') >> {log}\"]",
        psql = cluster.bin("psql").display(),
        host = cluster.host(),
        port = cluster.port(),
        log = log.display(),
    )
}

#[test]
fn restore_hooks_run_in_order_and_after_runs_on_failure() {
    let cluster = PgCluster::shared();
    let db = seeded(cluster, "hooks");
    let url = cluster.url(&db);
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("hooks.log");
    let config = format!(
        "[restore]\nbefore = {}\nafter = {}\n",
        hook(&log, "before", cluster, &db),
        hook(&log, "after", cluster, &db)
    );
    let project = Project::new(&config);
    backup(&project, &url);
    cluster.execute(&db, "DELETE FROM t WHERE id > 10");
    dbguard(&["restore", "--latest", "--url", &url, "--yes"])
        .cwd(project.path())
        .run()
        .code(0)
        .stdout_has("row counts match");
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        format!("before {db} 10\nafter {db} 1 2000\n"),
        "before saw the damaged table, after the restored one"
    );

    // A restore that fails (a role it needs is gone): after still runs, and says so.
    let role = format!("ghost_{db}");
    cluster.execute(
        &db,
        &format!(
            "CREATE ROLE {role}; CREATE TABLE owned (y int); ALTER TABLE owned OWNER TO {role};"
        ),
    );
    backup(&project, &url);
    cluster.execute(&db, &format!("DROP TABLE owned; DROP ROLE {role};"));
    std::fs::remove_file(&log).unwrap();
    dbguard(&["restore", "--latest", "--url", &url, "--yes"])
        .cwd(project.path())
        .run()
        .code(4)
        .stderr_has("unchanged");
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        format!("before {db} 2000\nafter {db} 0 2000\n")
    );

    // A failing before touches nothing: no safety backup, no restore.
    let failing = Project::new("[restore]\nbefore = [\"sh\", \"-c\", \"exit 7\"]\n");
    backup(&failing, &url);
    cluster.execute(&db, "DELETE FROM t WHERE id > 5");
    dbguard(&["restore", "--latest", "--url", &url, "--yes"])
        .cwd(failing.path())
        .run()
        .code(4)
        .stderr_has("[restore] before failed, nothing was touched");
    assert_eq!(count(cluster, &db), 5);
    assert_eq!(failing.backups().len(), 1, "no safety backup was taken");
}

#[test]
fn open_sessions_are_listed_and_ended_on_request() {
    let cluster = PgCluster::shared();
    let db = seeded(cluster, "sessions");
    let url = cluster.url(&db);
    let project = Project::new("");
    backup(&project, &url);
    cluster.execute(&db, "DELETE FROM t");

    let mut idle = cluster.client(&db);
    idle.batch_execute("SET application_name = 'api-worker'")
        .unwrap();
    dbguard(&[
        "restore",
        "--latest",
        "--url",
        &url,
        "--yes",
        "--no-safety-backup",
    ])
    .cwd(project.path())
    .run()
    .code(0)
    .stderr_has("1 other session is connected")
    .stderr_has("[api-worker]")
    .stderr_has("--terminate-connections");
    assert_eq!(count(cluster, &db), 2000);

    // A session holding a lock would block the restore: refused before anything is touched,
    // or ended first.
    cluster.execute(&db, "DELETE FROM t");
    idle.batch_execute("BEGIN; LOCK TABLE t IN ACCESS SHARE MODE")
        .unwrap();
    dbguard(&["restore", "--latest", "--url", &url, "--yes"])
        .cwd(project.path())
        .run()
        .code(4)
        .stderr_has("hold")
        .stderr_has("table locks")
        .stderr_has("--terminate-connections");
    assert_eq!(project.backups().len(), 1, "no safety backup was taken");
    dbguard(&[
        "restore",
        "--latest",
        "--url",
        &url,
        "--yes",
        "--no-safety-backup",
        "--terminate-connections",
    ])
    .cwd(project.path())
    .run()
    .code(0)
    .stderr_has("ended 1 other session");
    assert_eq!(count(cluster, &db), 2000);
    assert!(
        idle.batch_execute("SELECT 1").is_err(),
        "its session was ended"
    );
}
