//! Column and foreign-key helpers every migration shares, so ids, references
//! and foreign keys are declared the same way in each.

use sea_orm_migration::{prelude::*, schema::*};

/// Length of a textual UUID (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`).
pub const ID_LEN: u32 = 36;

/// Text primary key holding a UUID.
pub fn pk_id<T: IntoIden>(col: T) -> ColumnDef {
    string_len(col, ID_LEN).primary_key().take()
}

/// Non-null reference to another table's id.
pub fn id_ref<T: IntoIden>(col: T) -> ColumnDef {
    string_len(col, ID_LEN)
}

/// Nullable reference to another table's id.
pub fn id_ref_null<T: IntoIden>(col: T) -> ColumnDef {
    string_len_null(col, ID_LEN)
}

/// Foreign key `table.column -> ref_table.id`, named `fk_<table>_<column>`.
pub fn fk<T, C, R, RC>(
    name: &str,
    table: T,
    column: C,
    ref_table: R,
    ref_column: RC,
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement
where
    T: IntoIden,
    C: IntoIden,
    R: IntoIden,
    RC: IntoIden,
{
    ForeignKey::create()
        .name(name)
        .from(table, column)
        .to(ref_table, ref_column)
        .on_delete(on_delete)
        .on_update(ForeignKeyAction::NoAction)
        .take()
}
