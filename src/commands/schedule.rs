//! `dbguard schedule install | list | remove`: this project's scheduled backup.

use std::path::PathBuf;

use chrono::Utc;

use super::Context;
use crate::backup::Settings;
use crate::cli::{ScheduleAction, ScheduleInstallArgs};
use crate::error::{Error, Exit, Result};
use crate::schedule::{self, cron, systemd, Backend, Cron, Record};

/// The project a schedule belongs to: the directory of its dbguard.toml, else this one.
fn project(context: &Context) -> Result<PathBuf> {
    let dir = match context.config.path.as_deref().and_then(|p| p.parent()) {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => std::env::current_dir()
            .map_err(|e| Error::usage(format!("cannot read the current directory: {e}")))?,
    };
    Ok(dir.canonicalize().unwrap_or(dir))
}

pub fn run(context: &Context, action: &ScheduleAction) -> Result<Exit> {
    let settings = Settings::from_config(&context.config)?;
    let project = project(context)?;
    match action {
        ScheduleAction::Install(args) => install(context, &settings, &project, args),
        ScheduleAction::List => list(&settings, &project),
        ScheduleAction::Remove => remove(context, &settings, &project),
    }
}

fn install(
    context: &Context,
    settings: &Settings,
    project: &std::path::Path,
    args: &ScheduleInstallArgs,
) -> Result<Exit> {
    let expr = match (&args.cron, &args.every) {
        (Some(expr), _) => Cron::parse(expr)?.text,
        (None, every) => schedule::every_to_cron(every.as_deref().unwrap_or("1d"), project)?,
    };
    let parsed = Cron::parse(&expr)?;
    let backend = match args.with {
        Some(backend) => backend,
        None if schedule::systemd_available() => Backend::Systemd,
        None => Backend::Cron,
    };
    let id = schedule::id(project);
    let config = context
        .config
        .path
        .as_ref()
        .map(|p| p.canonicalize().unwrap_or_else(|_| p.clone()));
    let command = schedule::job_command(project, config.as_deref())?;
    let installed_in = match backend {
        Backend::Cron => {
            let (mut tab, _) = cron::without_entry(&cron::read_crontab()?, &id);
            tab.push_str(&cron::marker(&id, &project.display().to_string()));
            tab.push('\n');
            tab.push_str(&format!("{expr} {command}\n"));
            cron::write_crontab(&tab)?;
            "the user crontab (`crontab -l` shows it)".to_string()
        }
        Backend::Systemd => {
            let exe = std::env::current_exe()
                .map_err(|e| Error::usage(format!("cannot tell where dbguard is: {e}")))?;
            let (service, timer) =
                systemd::units(project, &exe, config.as_deref(), &parsed.to_on_calendar()?);
            let path = systemd::install(&id, &service, &timer)?;
            format!(
                "{} (`systemctl --user list-timers` shows it)",
                path.display()
            )
        }
    };
    // A backend switch leaves no second job behind.
    match backend {
        Backend::Cron => {
            let _ = systemd::remove(&id);
        }
        Backend::Systemd => {
            if let Ok(tab) = cron::read_crontab() {
                let (rest, removed) = cron::without_entry(&tab, &id);
                if removed.is_some() {
                    cron::write_crontab(&rest)?;
                }
            }
        }
    }
    Record {
        backend,
        cron: expr.clone(),
        project: project.to_path_buf(),
        command: command.clone(),
        installed_at: Utc::now(),
    }
    .write(&settings.dir)?;
    super::write_stdout(|out| {
        writeln!(
            out,
            "scheduled backup of {} at \"{expr}\" ({backend}) in {installed_in}\n  runs: {command}\n  log:  {}",
            project.display(),
            settings.log.display()
        )?;
        if context.config.config.database.url.is_none() {
            writeln!(
                out,
                "warning: scheduled jobs do not see your shell's environment: set [database] url \
                 in dbguard.toml (without the password; keep it in ~/.pgpass) so the job finds the database"
            )?;
        }
        Ok(())
    })?;
    Ok(Exit::Ok)
}

fn list(settings: &Settings, project: &std::path::Path) -> Result<Exit> {
    let id = schedule::id(project);
    let in_cron = cron::read_crontab()
        .ok()
        .and_then(|tab| cron::find_entry(&tab, &id));
    let in_systemd = systemd::unit_dir()
        .ok()
        .map(|d| d.join(format!("{}.timer", systemd::unit_name(&id))))
        .filter(|p| p.exists());
    let record = Record::read(&settings.dir);
    super::write_stdout(|out| {
        if in_cron.is_none() && in_systemd.is_none() {
            writeln!(
                out,
                "no scheduled backup of {} (`dbguard schedule install` adds one)",
                project.display()
            )?;
            if record.is_some() {
                writeln!(out, "warning: {}/schedule.json says one was installed; it is gone from cron and systemd", settings.dir.display())?;
            }
            return Ok(());
        }
        if let Some(line) = &in_cron {
            writeln!(out, "cron: {line}")?;
        }
        if let Some(path) = &in_systemd {
            writeln!(out, "systemd: {}", path.display())?;
        }
        if let Some(r) = &record {
            writeln!(
                out,
                "  \"{}\", installed {}, log: {}",
                r.cron,
                r.installed_at.format("%Y-%m-%d %H:%M UTC"),
                settings.log.display()
            )?;
        }
        Ok(())
    })?;
    Ok(Exit::Ok)
}

fn remove(context: &Context, settings: &Settings, project: &std::path::Path) -> Result<Exit> {
    let id = schedule::id(project);
    let mut removed = Vec::new();
    if let Ok(tab) = cron::read_crontab() {
        let (rest, entry) = cron::without_entry(&tab, &id);
        if entry.is_some() {
            cron::write_crontab(&rest)?;
            removed.push("the crontab entry");
        }
    }
    if systemd::remove(&id).unwrap_or(false) {
        removed.push("the systemd user timer");
    }
    Record::remove(&settings.dir);
    if !context.quiet {
        super::write_stdout(|out| {
            if removed.is_empty() {
                writeln!(
                    out,
                    "no scheduled backup of {} to remove",
                    project.display()
                )
            } else {
                writeln!(
                    out,
                    "removed {} for {}",
                    removed.join(" and "),
                    project.display()
                )
            }
        })?;
    }
    Ok(Exit::Ok)
}
