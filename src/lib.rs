pub mod keyspace;
pub mod resp;
pub mod storage;
