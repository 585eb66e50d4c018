//! Reading a docker compose file for its PostgreSQL services and the host ports they
//! publish, so `dbguard init` can propose `[backup] exec` for the service that serves the dev
//! database. A line-based reader of the common shapes (short and long `ports:` syntax,
//! `${VAR:-default}`), not a YAML parser: what it cannot read it leaves out.

use std::path::{Path, PathBuf};

/// The file names `docker compose` looks for, in its order.
pub const FILE_NAMES: &[&str] = &[
    "compose.yaml",
    "compose.yml",
    "docker-compose.yaml",
    "docker-compose.yml",
];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Service {
    pub name: String,
    pub image: String,
    /// Host ports published for the container's 5432 (or for any port when the mapping does
    /// not say).
    pub published: Vec<u16>,
    pub file: PathBuf,
}

impl Service {
    /// `["docker", "compose", "exec", "-T", NAME]`
    pub fn exec(&self) -> Vec<String> {
        ["docker", "compose", "exec", "-T", &self.name]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }
}

/// The compose file of `root`, if any.
pub fn find(root: &Path) -> Option<PathBuf> {
    FILE_NAMES
        .iter()
        .map(|n| root.join(n))
        .find(|p| p.is_file())
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

fn unquote(text: &str) -> &str {
    let text = text.trim();
    let text = text.split(" #").next().unwrap_or(text).trim();
    text.trim_matches(|c| c == '"' || c == '\'')
}

/// `${DB_PORT:-5433}` → `5433`; other text unchanged.
fn interpolate(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('}') else {
            break;
        };
        let inner = &rest[start + 2..start + end];
        if let Some((_, default)) = inner.split_once(":-").or_else(|| inner.split_once('-')) {
            out.push_str(default);
        }
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    out
}

/// The host port of a short-syntax mapping that reaches the container's 5432:
/// `5433:5432`, `127.0.0.1:5433:5432`, `5433:5432/tcp`.
fn host_port(mapping: &str) -> Option<u16> {
    let mapping = interpolate(unquote(mapping));
    let mapping = mapping.split('/').next().unwrap_or("");
    let parts: Vec<&str> = mapping.rsplitn(3, ':').collect();
    match parts.as_slice() {
        [container, host, ..] if *container == "5432" => host.parse().ok(),
        _ => None,
    }
}

/// Every service of the compose file at `path` whose image is PostgreSQL (or a PostgreSQL
/// derivative: postgis, pgvector, timescaledb).
pub fn postgres_services(path: &Path) -> Vec<Service> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    let mut services = Vec::new();
    let mut in_services = false;
    let mut service_indent = None;
    let mut current: Option<Service> = None;
    let mut in_ports = None;
    // Long syntax: `- target: 5432` with `published: 5433` in the same item.
    let mut long_item: (Option<String>, Option<String>) = (None, None);
    let flush_long = |item: &mut (Option<String>, Option<String>), service: &mut Service| {
        if let (Some(target), Some(published)) = (&item.0, &item.1) {
            if target == "5432" {
                if let Ok(port) = interpolate(published).parse() {
                    service.published.push(port);
                }
            }
        }
        *item = (None, None);
    };
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let depth = indent(line);
        if depth == 0 {
            in_services = trimmed == "services:";
            if let Some(mut s) = current.take() {
                flush_long(&mut long_item, &mut s);
                services.push(s);
            }
            in_ports = None;
            continue;
        }
        if !in_services {
            continue;
        }
        let service_depth = *service_indent.get_or_insert(depth);
        if depth == service_depth {
            if let Some(mut s) = current.take() {
                flush_long(&mut long_item, &mut s);
                services.push(s);
            }
            in_ports = None;
            if let Some(name) = trimmed.strip_suffix(':') {
                current = Some(Service {
                    name: unquote(name).to_string(),
                    image: String::new(),
                    published: Vec::new(),
                    file: path.to_path_buf(),
                });
            }
            continue;
        }
        let Some(service) = current.as_mut() else {
            continue;
        };
        if let Some(ports_depth) = in_ports {
            if depth > ports_depth {
                let item = trimmed.strip_prefix("- ");
                if let Some(item) = item {
                    flush_long(&mut long_item, service);
                    match item.split_once(':') {
                        Some((key, value)) if key.trim() == "target" => {
                            long_item.0 = Some(unquote(value).to_string())
                        }
                        Some((key, value)) if key.trim() == "published" => {
                            long_item.1 = Some(unquote(value).to_string())
                        }
                        _ => service.published.extend(host_port(item)),
                    }
                } else if let Some((key, value)) = trimmed.split_once(':') {
                    match key.trim() {
                        "target" => long_item.0 = Some(unquote(value).to_string()),
                        "published" => long_item.1 = Some(unquote(value).to_string()),
                        _ => {}
                    }
                }
                continue;
            }
            flush_long(&mut long_item, service);
            in_ports = None;
        }
        if let Some(image) = trimmed.strip_prefix("image:") {
            service.image = interpolate(unquote(image));
        } else if let Some(rest) = trimmed.strip_prefix("ports:") {
            let rest = rest.trim();
            if let Some(list) = rest.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
                service
                    .published
                    .extend(list.split(',').filter_map(host_port));
            } else {
                in_ports = Some(depth);
            }
        }
    }
    if let Some(mut s) = current.take() {
        flush_long(&mut long_item, &mut s);
        services.push(s);
    }
    services
        .into_iter()
        .filter(|s| {
            let image = s.image.to_ascii_lowercase();
            ["postgres", "postgis", "pgvector", "timescale"]
                .iter()
                .any(|p| image.contains(p))
        })
        .collect()
}

/// The PostgreSQL service of `root`'s compose file that publishes `port` on the host.
pub fn service_for_port(root: &Path, port: u16) -> Option<Service> {
    postgres_services(&find(root)?)
        .into_iter()
        .find(|s| s.published.contains(&port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_and_their_ports() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("docker-compose.yml");
        std::fs::write(
            &path,
            r#"
services:
  api:
    image: myapp:latest
    ports:
      - "8000:8000"
  db:
    image: "postgres:18"
    environment:
      POSTGRES_PASSWORD: example
    ports:
      - "${DB_PORT:-5433}:5432"
  test-db:
    image: postgis/postgis:16-3.4
    ports: ["127.0.0.1:5434:5432"]
  long:
    image: postgres:17
    ports:
      - target: 5432
        published: "5435"
        protocol: tcp
volumes:
  data:
"#,
        )
        .unwrap();
        let services = postgres_services(&path);
        let names: Vec<(&str, Vec<u16>)> = services
            .iter()
            .map(|s| (s.name.as_str(), s.published.clone()))
            .collect();
        assert_eq!(
            names,
            [
                ("db", vec![5433]),
                ("test-db", vec![5434]),
                ("long", vec![5435])
            ]
        );
        assert_eq!(service_for_port(dir.path(), 5433).unwrap().name, "db");
        assert!(service_for_port(dir.path(), 5432).is_none());
        assert_eq!(
            service_for_port(dir.path(), 5433).unwrap().exec(),
            ["docker", "compose", "exec", "-T", "db"]
        );
    }
}
