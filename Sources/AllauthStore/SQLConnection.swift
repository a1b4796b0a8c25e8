/// The two engines behind the store. Most SQL is written once for both; where they really
/// differ (a row lock, a claim that skips locked rows) the store type that owns the table
/// switches on this, beside its portable SQL.
public enum DatabaseEngine: String, Sendable {
    case sqlite
    case postgreSQL = "postgresql"
}

/// One connection to the store, used by one thread at a time: SQLite (`Database`) or PostgreSQL
/// (`PostgreSQLDatabase`), chosen once from `database.url` (`StoreLocation.connect`), as jwt-kit
/// picks an algorithm. Store types (`Whitelist`, `UserStore`, `Outbox`, …) write their SQL
/// against this with `?` placeholders; handlers never see which engine answers.
public protocol SQLConnection: AnyObject {
    var engine: DatabaseEngine { get }
    /// Runs one or more statements without parameters or results (schema).
    func execute(_ sql: String) throws
    /// Runs a statement and calls `body` for each row.
    func query(_ sql: String, _ bindings: [SQLValue], _ body: (Row) throws -> Void) throws
    /// The first row mapped by `map`, or nil.
    func first<T>(_ sql: String, _ bindings: [SQLValue], _ map: (Row) throws -> T) throws -> T?
    /// Runs a statement that returns no rows; answers the number of rows changed.
    @discardableResult
    func run(_ sql: String, _ bindings: [SQLValue]) throws -> Int
    /// Runs `body` in a transaction: committed if it returns, rolled back if it throws. Inside
    /// another transaction of this connection it joins that one. `.full` durability: the commit
    /// survives a power cut (see `Durability`), for whatever takes access away.
    func transaction<T>(_ kind: Database.TransactionKind, durability: Durability, _ body: () throws -> T) throws -> T
    /// Inside a write transaction: makes every other writer that names `key` wait until this
    /// transaction ends. SQLite needs nothing (its `BEGIN IMMEDIATE` already admits one writer at a
    /// time); PostgreSQL's READ COMMITTED lets writers interleave, so a read-modify-write whose
    /// rows may not exist yet (a sliding-window count, a sign-up of a free address) takes a
    /// transaction-scoped advisory lock on the key.
    func serializeWriters(on key: String) throws
}

extension SQLConnection {
    public func query(_ sql: String, _ body: (Row) throws -> Void) throws { try query(sql, [], body) }
    public func first<T>(_ sql: String, _ map: (Row) throws -> T) throws -> T? { try first(sql, [], map) }
    @discardableResult
    public func run(_ sql: String) throws -> Int { try run(sql, []) }
    public func transaction<T>(_ body: () throws -> T) throws -> T { try transaction(.immediate, durability: .normal, body) }
    public func transaction<T>(_ kind: Database.TransactionKind, _ body: () throws -> T) throws -> T {
        try transaction(kind, durability: .normal, body)
    }
    public func transaction<T>(durability: Durability, _ body: () throws -> T) throws -> T {
        try transaction(.immediate, durability: durability, body)
    }

    /// Inserts one row and answers its new `id` (`INSERT … RETURNING id`, which both engines speak).
    public func insert(_ sql: String, _ bindings: [SQLValue]) throws -> Int64 {
        guard let id = try first(sql + " RETURNING id", bindings, { $0.int(0) }) else {
            throw DatabaseError(code: 0, message: "no id returned: \(sql)")
        }
        return id
    }
}
