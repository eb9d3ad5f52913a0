//! Group meetings, attendance at them (the PALMS codes) and one-to-ones
//! between members: the record of who was in the room.

pub mod service;
