pub mod keyspace;
pub mod storage;
