//! Deterministic ids: a fixed prefix, the kind of row and a counter, laid
//! out as a version-8 (custom) UUID, e.g. `62656e63-000c-8000-8000-00000000002a`
//! for the 43rd referral. Counters run in generation order, so two runs
//! with the same parameters give the same ids, and a kind's ids sort in the
//! order its rows were made (inserts append to the primary-key index).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub(crate) enum Kind {
    Member = 1,
    Group,
    Membership,
    PartnerFirm,
    Partnership,
    PartnershipStage,
    Meeting,
    Attendance,
    Visitor,
    OneToOne,
    Absence,
    Referral,
    ReferralEvent,
}

const KINDS: usize = Kind::ReferralEvent as usize + 1;

#[derive(Debug, Default)]
pub(crate) struct Ids {
    next: [u64; KINDS],
}

impl Ids {
    pub fn next(&mut self, kind: Kind) -> String {
        let n = self.next[kind as usize];
        self.next[kind as usize] += 1;
        id_for(kind, n)
    }
}

/// "benc" | kind | version 8 | variant | 48-bit counter.
pub(crate) fn id_for(kind: Kind, n: u64) -> String {
    let mut bytes = [0u8; 16];
    bytes[..4].copy_from_slice(b"benc");
    bytes[4..6].copy_from_slice(&(kind as u16).to_be_bytes());
    bytes[10..].copy_from_slice(&n.to_be_bytes()[2..]);
    uuid::Builder::from_custom_bytes(bytes)
        .into_uuid()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_uuids_that_sort_by_counter() {
        let mut ids = Ids::default();
        let a = ids.next(Kind::Referral);
        let b = ids.next(Kind::Referral);
        assert_eq!(a, "62656e63-000c-8000-8000-000000000000");
        assert!(a < b);
        assert_eq!(
            id_for(Kind::Referral, 42),
            "62656e63-000c-8000-8000-00000000002a"
        );
        let parsed = uuid::Uuid::parse_str(&b).unwrap();
        assert_eq!(parsed.get_version_num(), 8);
        assert_eq!(ids.next(Kind::Member), id_for(Kind::Member, 0));
    }
}
