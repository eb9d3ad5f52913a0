pub mod resolvers;
pub mod service;
pub mod types;
