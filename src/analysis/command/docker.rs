//! `docker compose down -v` and friends: the volumes hold the database.

use super::{Inputs, Plan, Tool};
use crate::analysis::rules;
use crate::analysis::Severity;
use crate::error::Result;

pub fn classify(args: &[String], inputs: &Inputs) -> Result<Plan> {
    let program = super::program_name(&args[0]);
    // `docker compose …` / `podman compose …` or the standalone `docker-compose …`.
    let compose_args: &[String] = if program.ends_with("-compose") {
        &args[1..]
    } else if args.get(1).is_some_and(|a| a == "compose") {
        &args[2..]
    } else {
        return Ok(Plan::new(
            args,
            Tool::Docker,
            format!("{program}: not a compose command; runs unchecked"),
        ));
    };
    let Some(down) = compose_args.iter().position(|a| a == "down") else {
        return Ok(Plan::new(
            args,
            Tool::Docker,
            format!("{program} compose: does not remove volumes"),
        ));
    };
    let removes_volumes = compose_args[down + 1..].iter().any(|a| {
        a == "-v"
            || a == "--volumes"
            || a == "--volumes=true"
            || (a.starts_with('-') && !a.starts_with("--") && a.contains('v'))
    });
    let mut plan = Plan::new(
        args,
        Tool::Docker,
        format!("{program} compose down: stops the services"),
    );
    if removes_volumes {
        plan.description =
            format!("{program} compose down -v: stops the services and removes their volumes");
        // The protected database is the one in the volumes.
        let (target, source) = inputs.config.database(None, inputs.env)?;
        let db = target.effective_dbname();
        plan.command_finding(
            &rules::remove_volumes::RULE,
            Severity::DataLoss,
            format!("removes the compose volumes, which hold database {db}"),
            None,
        );
        plan.target = Some((target, source));
    }
    Ok(plan)
}
