//! Operations from statements sqlparser understood. Nested statements (CTE bodies, PREPARE)
//! are reached through sqlparser's visitor, so a `DELETE` hidden in a `WITH` is never missed.

use std::ops::ControlFlow;

use sqlparser::ast::{
    AlterColumnOperation, AlterTableOperation, AssignmentTarget, DropBehavior, FromTable,
    MergeAction, ObjectName, ObjectNamePart, ObjectType, ReferentialAction, RenameTableNameKind,
    Statement, TableFactor, TableWithJoins,
};

use crate::analysis::ops::Op;

/// Every operation in the parsed statements, nested ones included.
pub fn operations(statements: &[Statement]) -> Vec<Op> {
    let mut ops = Vec::new();
    for statement in statements {
        let _ = sqlparser::ast::visit_statements(statement, |nested| {
            classify(nested, &mut ops);
            ControlFlow::<()>::Continue(())
        });
    }
    ops
}

fn relation_name(factor: &TableFactor) -> String {
    match factor {
        // sqlparser reads `DELETE FROM ONLY t` as table `ONLY` with alias `t`.
        TableFactor::Table {
            name,
            alias: Some(alias),
            ..
        } if is_only_keyword(name) && !alias.explicit => alias.name.to_string(),
        TableFactor::Table { name, .. } => name.to_string(),
        other => other.to_string(),
    }
}

fn is_only_keyword(name: &ObjectName) -> bool {
    matches!(name.0.as_slice(), [ObjectNamePart::Identifier(ident)]
        if ident.quote_style.is_none() && ident.value.eq_ignore_ascii_case("only"))
}

fn first_relation(tables: &[TableWithJoins]) -> String {
    tables
        .first()
        .map_or_else(|| "?".to_string(), |t| relation_name(&t.relation))
}

fn join<T: ToString>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn classify(statement: &Statement, ops: &mut Vec<Op>) {
    match statement {
        Statement::Drop { object_type, names, cascade, .. } => drop(object_type, names, *cascade, ops),
        Statement::DropFunction(drop) => {
            ops.extend(drop.func_desc.iter().map(|f| Op::DropFunction { kind: "function", name: f.name.to_string() }))
        }
        Statement::DropProcedure { proc_desc, .. } => {
            ops.extend(proc_desc.iter().map(|f| Op::DropFunction { kind: "procedure", name: f.name.to_string() }))
        }
        Statement::DropDomain(drop) => ops.push(Op::DropType {
            kind: "domain",
            names: drop.name.to_string(),
            cascade: matches!(drop.drop_behavior, Some(DropBehavior::Cascade)),
        }),
        Statement::DropExtension(drop) => ops.push(Op::DropType {
            kind: "extension",
            names: join(&drop.names),
            cascade: matches!(drop.cascade_or_restrict, Some(ReferentialAction::Cascade)),
        }),
        Statement::DropTrigger(drop) => ops.push(Op::DropTrigger { kind: "trigger", name: drop.trigger_name.to_string() }),
        Statement::DropPolicy(drop) => ops.push(Op::DropTrigger { kind: "policy", name: drop.name.to_string() }),
        Statement::Truncate(truncate) => {
            ops.extend(truncate.table_names.iter().map(|t| Op::Truncate { table: t.name.to_string() }))
        }
        Statement::Delete(delete) => {
            let table = match &delete.from {
                FromTable::WithFromKeyword(tables) | FromTable::WithoutKeyword(tables) => first_relation(tables),
            };
            ops.push(Op::Delete { table, has_where: delete.selection.is_some() });
        }
        Statement::Update(update) => {
            ops.push(Op::Update {
                table: relation_name(&update.table.relation),
                has_where: update.selection.is_some(),
                columns: update.assignments.iter().flat_map(|a| match &a.target {
                    AssignmentTarget::ColumnName(c) => vec![c.to_string()],
                    AssignmentTarget::Tuple(cs) => cs.iter().map(ToString::to_string).collect(),
                }).collect(),
            })
        }
        Statement::Merge(merge) if merge.clauses.iter().any(|c| matches!(c.action, MergeAction::Delete { .. })) => {
            ops.push(Op::MergeDelete { table: relation_name(&merge.table) })
        }
        Statement::AlterTable(alter) => {
            let table = alter.name.to_string();
            for operation in &alter.operations {
                alter_table(&table, operation, ops);
            }
        }
        Statement::Execute { name, .. } => ops.push(Op::DynamicSql {
            detail: match name {
                Some(name) => format!("EXECUTE {name} runs a prepared statement; dbguard checks its PREPARE, not this call"),
                None => "EXECUTE runs SQL dbguard cannot see".to_string(),
            },
        }),
        _ => {}
    }
}

fn drop(object_type: &ObjectType, names: &[ObjectName], cascade: bool, ops: &mut Vec<Op>) {
    // Types and roles are reported once per statement; everything else once per name.
    match object_type {
        ObjectType::Type => {
            return ops.push(Op::DropType {
                kind: "type",
                names: join(names),
                cascade,
            })
        }
        ObjectType::Role | ObjectType::User => {
            return ops.push(Op::DropRole { names: join(names) })
        }
        // CASCADE drops every column declared with the collation, with its data; without
        // it PostgreSQL refuses while a column uses it.
        ObjectType::Collation if cascade => {
            return ops.push(Op::DropType {
                kind: "collation",
                names: join(names),
                cascade,
            })
        }
        _ => {}
    }
    for name in names {
        let name = name.to_string();
        ops.push(match object_type {
            ObjectType::Table => Op::DropTable { name },
            ObjectType::View => Op::DropView {
                name,
                materialized: false,
            },
            ObjectType::MaterializedView => Op::DropView {
                name,
                materialized: true,
            },
            ObjectType::Index => Op::DropIndex { name },
            ObjectType::Schema => Op::DropSchema { name },
            ObjectType::Database => Op::DropDatabase { name },
            ObjectType::Sequence => Op::DropSequence { name },
            _ => continue,
        });
    }
}

fn alter_table(table: &str, operation: &AlterTableOperation, ops: &mut Vec<Op>) {
    let table_owned = || table.to_string();
    match operation {
        AlterTableOperation::DropColumn { column_names, .. } => {
            ops.extend(column_names.iter().map(|c| Op::DropColumn {
                table: table_owned(),
                column: c.to_string(),
            }))
        }
        AlterTableOperation::DropConstraint { name, .. } => ops.push(Op::DropConstraint {
            table: table_owned(),
            name: name.to_string(),
        }),
        AlterTableOperation::AlterColumn { column_name, op } => match op {
            AlterColumnOperation::SetDataType { data_type, .. } => ops.push(Op::AlterColumnType {
                table: table_owned(),
                column: column_name.to_string(),
                new_type: data_type.to_string(),
            }),
            AlterColumnOperation::SetNotNull => ops.push(Op::SetNotNull {
                table: table_owned(),
                column: column_name.to_string(),
            }),
            _ => {}
        },
        AlterTableOperation::RenameColumn {
            old_column_name,
            new_column_name,
        } => ops.push(Op::RenameColumn {
            table: table_owned(),
            from: old_column_name.to_string(),
            to: new_column_name.to_string(),
        }),
        AlterTableOperation::RenameTable { table_name } => {
            let (RenameTableNameKind::As(to) | RenameTableNameKind::To(to)) = table_name;
            ops.push(Op::RenameTable {
                from: table_owned(),
                to: to.to_string(),
            })
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::parser::Parser;

    fn ops(sql: &str) -> Vec<Op> {
        operations(&Parser::parse_sql(&PostgreSqlDialect {}, sql).unwrap())
    }

    #[test]
    fn only_names_the_table_not_the_keyword() {
        assert_eq!(
            ops("DELETE FROM ONLY events"),
            [Op::Delete {
                table: "events".into(),
                has_where: false
            }]
        );
        assert_eq!(
            ops("UPDATE ONLY events SET a = 1 WHERE id = 2"),
            [Op::Update {
                table: "events".into(),
                has_where: true,
                columns: vec!["a".into()]
            }]
        );
        // A table really called "only" must be quoted, and keeps its name.
        assert_eq!(
            ops("DELETE FROM \"only\" o"),
            [Op::Delete {
                table: "\"only\"".into(),
                has_where: false
            }]
        );
    }
}
