//! How member rows are read for display: every column but the password
//! hash, which only sign-in and password changes read (a portal printing
//! names has no business holding hashes in memory).

use entities::member;
use sea_orm::sea_query::Expr;
use sea_orm::{
    DbErr, EntityTrait, FromQueryResult, IdenStatic, Iterable, QueryResult, QuerySelect, Select,
};

/// `member::Entity::find()` without the password hash: the column comes
/// back as an empty string, which no hash verification accepts.
pub fn find() -> Select<member::Entity> {
    with_member_columns(member::Entity::find().select_only(), "")
}

/// Adds the columns of the `members` table a query joins, each as
/// `prefix` + its name, the password hash as an empty string: for reading a
/// member with another row in one statement.
pub fn with_member_columns<E: EntityTrait>(mut q: Select<E>, prefix: &str) -> Select<E> {
    for column in member::Column::iter() {
        let alias = format!("{prefix}{}", column.as_str());
        q = if matches!(column, member::Column::PasswordHash) {
            q.column_as(Expr::val(""), alias)
        } else {
            q.column_as(Expr::col((member::Entity, column)), alias)
        };
    }
    q
}

/// The bytes of text a member's row holds (for caches that weigh what
/// they keep).
pub fn text_bytes(m: &member::Model) -> usize {
    let text = |o: &Option<String>| o.as_ref().map_or(0, String::len);
    m.id.len()
        + m.email.len()
        + m.email_lower.len()
        + m.name.len()
        + m.password_hash.len()
        + m.profession.len()
        + text(&m.business_name)
        + text(&m.phone)
        + text(&m.brief_ideal_referral)
        + text(&m.brief_target_market)
        + text(&m.brief_talking_points)
        + text(&m.brief_intro_template)
}

/// A member known by id and name only, every other field empty: for
/// answers that read nothing else of it (the API decides by looking ahead
/// at the selection).
pub fn named(id: String, name: String) -> member::Model {
    member::Model {
        id,
        name,
        email: String::new(),
        email_lower: String::new(),
        password_hash: String::new(),
        profession: String::new(),
        business_name: None,
        phone: None,
        brief_ideal_referral: None,
        brief_target_market: None,
        brief_talking_points: None,
        brief_intro_template: None,
        is_admin: false,
        created_at: chrono::DateTime::<chrono::Utc>::UNIX_EPOCH,
        last_seen_at: None,
        previous_sign_in_at: None,
    }
}

/// A member read by position, for [`find`]'s statements only
/// (`find()…into_model::<FirstColumns>()`, as the members' loader does):
/// it skips sea-orm's look-up of each column by name. The prefix sea-orm
/// passes is ignored, so the member's columns must come first, as `find`
/// selects them; a statement that selects anything before them is misread.
pub struct FirstColumns(pub member::Model);

impl FromQueryResult for FirstColumns {
    fn from_query_result(row: &QueryResult, _pre: &str) -> Result<Self, DbErr> {
        member::Model::at(row, 0).map(FirstColumns)
    }
}
