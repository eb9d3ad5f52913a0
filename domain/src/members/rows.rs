//! How member rows are read for display: every column but the password
//! hash, which only sign-in and password changes read (a portal printing
//! names has no business holding hashes in memory).

use entities::member;
use sea_orm::sea_query::Expr;
use sea_orm::{EntityTrait, Iterable, QuerySelect, Select};

/// `member::Entity::find()` without the password hash: the column comes
/// back as an empty string, which no hash verification accepts.
pub fn find() -> Select<member::Entity> {
    let mut q = member::Entity::find().select_only();
    for column in member::Column::iter() {
        q = if matches!(column, member::Column::PasswordHash) {
            q.column_as(Expr::val(""), "password_hash")
        } else {
            q.column(column)
        };
    }
    q
}
