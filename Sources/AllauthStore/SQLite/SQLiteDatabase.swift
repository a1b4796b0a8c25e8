import AllauthRuntime
import CSQLite
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A failure from the database, with the statement's error message: SQLite's result code, or
/// PostgreSQL's SQLSTATE (`PostgreSQLDatabase`).
public final class SQLiteDatabase: SQLConnection {
    public let engine = DatabaseEngine.sqlite
    private(set) var handle: OpaquePointer?
    /// `<database>-writer.lock`, see `transaction`.
    private var writerLock: WriterLock?
    private var statements: [String: OpaquePointer] = [:]
    public let path: String
    /// The longest any statement or transaction of this connection waits for a lock.
    public let busyTimeout: TimeInterval
    /// The durability of the transaction in progress, nil outside one.
    private var openDurability: Durability?
    /// Read by the busy handler: when the current wait for SQLite's lock must end.
    private let busyDeadline = BusyDeadline()
    private let probe = TransactionProbe.fromEnvironment()

    public init(path: String, busyTimeout: TimeInterval = 5) throws {
        self.path = path
        self.busyTimeout = busyTimeout
        try Self.createPrivately(path)
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let result = sqlite3_open_v2(path, &handle, flags, nil)
        guard result == SQLITE_OK else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close(handle)
            throw DatabaseError(code: result, message: "\(path): \(message)")
        }
        installBusyHandler()
        writerLock = WriterLock(path: path + "-writer.lock")
        probe?.attach(to: handle)
        try execute("PRAGMA journal_mode = WAL")
        // NORMAL is durable across application crashes in WAL mode; only an OS crash may lose
        // the last transactions, never corrupt the file.
        try execute("PRAGMA synchronous = NORMAL")
        try execute("PRAGMA foreign_keys = ON")
    }

    /// Makes an empty file at `path`, mode 0600 whatever the umask, unless one exists. SQLite
    /// would create it 0644 itself (SQLITE_DEFAULT_FILE_PERMISSIONS, applied with fchmod past the
    /// umask), and it creates the `-wal` and `-shm` files with the main file's mode: made here
    /// first, the database and both of its companions are readable by their owner alone.
    /// An existing file keeps its mode (`jwt-allauth check` names one readable by others).
    package static func createPrivately(_ path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            if errno == EEXIST { return }
            throw DatabaseError(code: SQLITE_CANTOPEN, message: "\(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        fchmod(fd, 0o600)
    }

    deinit {
        for statement in statements.values { sqlite3_finalize(statement) }
        sqlite3_close_v2(handle)
    }

    /// When a wait for SQLite's lock must end: the transaction's deadline inside one (shared with
    /// the writer lock), else `busyTimeout` from the statement's first busy answer.
    private final class BusyDeadline {
        var transaction: WaitDeadline?
        var statement = WaitDeadline(after: 0)
        var timeout: TimeInterval = 0
    }

    /// SQLite's default busy handler sleeps in growing steps and is unfair between processes
    /// (one process starved for seconds in our probe). Short, jittered sleeps keep the worst
    /// wait in the tens of milliseconds under contention; the wait ends at a deadline on the clock,
    /// not after a count of sleeps, whose length the scheduler stretches under load.
    private func installBusyHandler() {
        busyDeadline.timeout = busyTimeout
        sqlite3_busy_handler(handle, { context, count in
            let state = Unmanaged<BusyDeadline>.fromOpaque(context!).takeUnretainedValue()
            if count == 0 && state.transaction == nil { state.statement = WaitDeadline(after: state.timeout) }
            if (state.transaction ?? state.statement).hasPassed { return 0 }
            // Asleep, the thread lets another take requests (the lock may be held for long).
            Blocking.sleep(seconds: Double(200 + Int.random(in: 0..<600)) / 1_000_000)
            return 1
        }, Unmanaged.passUnretained(busyDeadline).toOpaque())
    }

    /// A lock that stayed taken past the timeout is `StoreBusy`, whatever statement met it.
    private func error(_ code: Int32) -> Error {
        if code & 0xff == SQLITE_BUSY || code & 0xff == SQLITE_LOCKED {
            return StoreBusy(waitedFor: "SQLite's lock", timeout: busyTimeout)
        }
        return DatabaseError(code: code, message: String(cString: sqlite3_errmsg(handle)))
    }

    /// Runs one or more statements without results (schema, pragmas).
    public func execute(_ sql: String) throws {
        var message: UnsafeMutablePointer<CChar>?
        let result = sqlite3_exec(handle, sql, nil, nil, &message)
        if result != SQLITE_OK {
            let text = message.map { String(cString: $0) } ?? "error"
            sqlite3_free(message)
            if case let busy as StoreBusy = error(result) { throw busy }
            throw DatabaseError(code: result, message: text)
        }
    }

    private func prepared(_ sql: String, _ bindings: [SQLValue]) throws -> OpaquePointer {
        let statement: OpaquePointer
        if let cached = statements[sql] {
            statement = cached
        } else {
            var fresh: OpaquePointer?
            let result = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &fresh, nil)
            guard result == SQLITE_OK, let fresh else { throw error(result) }
            statements[sql] = fresh
            statement = fresh
        }
        sqlite3_reset(statement)
        sqlite3_clear_bindings(statement)
        for (offset, value) in bindings.enumerated() {
            let index = Int32(offset + 1)
            let result: Int32
            switch value {
            case .null: result = sqlite3_bind_null(statement, index)
            case .integer(let v): result = sqlite3_bind_int64(statement, index, v)
            case .real(let v): result = sqlite3_bind_double(statement, index, v)
            case .text(let v): result = Self.bindText(v, to: statement, at: index)
            case .blob(let v): result = v.withUnsafeBytes { sqlite3_bind_blob(statement, index, $0.baseAddress, Int32(v.count), SQLiteDatabase.transient) }
            }
            guard result == SQLITE_OK else { throw error(result) }
        }
        return statement
    }

    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    /// Binds text with its byte length: with -1 SQLite would stop at the first NUL, and a lookup
    /// by "a@example.com\0x" would find "a@example.com".
    private static func bindText(_ value: String, to statement: OpaquePointer, at index: Int32) -> Int32 {
        var text = value
        return text.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { chars in
                // An empty buffer may have no address, and a nil pointer would bind NULL.
                guard let start = chars.baseAddress, !chars.isEmpty else { return sqlite3_bind_text(statement, index, "", 0, transient) }
                return sqlite3_bind_text(statement, index, start, Int32(chars.count), transient)
            }
        }
    }

    /// Runs a statement and calls `body` for each row.
    public func query(_ sql: String, _ bindings: [SQLValue], _ body: (Row) throws -> Void) throws {
        let statement = try prepared(sql, bindings)
        defer { sqlite3_reset(statement) }
        while true {
            let result = sqlite3_step(statement)
            if result == SQLITE_DONE { return }
            guard result == SQLITE_ROW else { throw error(result) }
            try body(Row(source: .sqlite(statement)))
        }
    }

    /// The first row mapped by `map`, or nil.
    public func first<T>(_ sql: String, _ bindings: [SQLValue], _ map: (Row) throws -> T) throws -> T? {
        let statement = try prepared(sql, bindings)
        defer { sqlite3_reset(statement) }
        let result = sqlite3_step(statement)
        if result == SQLITE_DONE { return nil }
        guard result == SQLITE_ROW else { throw error(result) }
        return try map(Row(source: .sqlite(statement)))
    }

    /// Runs a statement that returns no rows; answers the number of rows changed.
    @discardableResult
    public func run(_ sql: String, _ bindings: [SQLValue]) throws -> Int {
        let statement = try prepared(sql, bindings)
        defer { sqlite3_reset(statement) }
        let result = sqlite3_step(statement)
        guard result == SQLITE_DONE || result == SQLITE_ROW else { throw error(result) }
        return Int(sqlite3_changes(handle))
    }

    public var lastInsertID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Nothing to do: `BEGIN IMMEDIATE` already admits one writer at a time (see `SQLConnection`).
    public func serializeWriters(on key: String) throws {}

    /// Thrown inside a `.normal` transaction by a nested `.full` one; see `transaction`.
    private struct NeedsFullDurability: Error {}

    /// Runs `body` in a transaction: committed if it returns, rolled back if it throws.
    ///
    /// Every lock it waits for (the writer lock, SQLite's) is waited for `busyTimeout` in all at
    /// most; past it, `StoreBusy` and nothing done.
    ///
    /// Called inside another transaction of this connection, it joins that one (a store method that
    /// opens its own transaction can run inside a caller's). An `.accessChange` call inside a `.write`
    /// transaction, such as a rotation that finds a replay and revokes the session, cannot raise
    /// `synchronous` there (SQLite refuses to change it inside a transaction), so the outer
    /// transaction is rolled back and `body` runs again from the start as `.full`, deciding afresh
    /// under the lock. A body must therefore do database work only, or work that may be repeated.
    public func transaction<T>(_ kind: TransactionKind, _ body: () throws -> T) throws -> T {
        let durability = kind.durability
        if let open = openDurability {
            if durability == .full && open != .full { throw NeedsFullDurability() }
            return try body()
        }
        // One deadline for both attempts: an escalated transaction waits no longer in all.
        let deadline = WaitDeadline(after: busyTimeout)
        do {
            return try outermost(kind, durability, deadline, body)
        } catch is NeedsFullDurability where durability == .normal {
            return try outermost(kind, .full, deadline, body)
        }
    }

    private func outermost<T>(_ kind: TransactionKind, _ durability: Durability, _ deadline: WaitDeadline,
                              _ body: () throws -> T) throws -> T {
        busyDeadline.transaction = deadline
        defer { busyDeadline.transaction = nil }
        if durability == .full {
            // Only outside a transaction may it change; set back after, so NORMAL stays the default.
            try run("PRAGMA synchronous = FULL")
        }
        defer { if durability == .full { _ = try? run("PRAGMA synchronous = NORMAL") } }
        if let writerLock {
            // Writers of every thread and process queue in the kernel, until the deadline at most.
            guard writerLock.lock(until: deadline) else { throw StoreBusy(waitedFor: "the writer lock", timeout: busyTimeout) }
            defer { writerLock.unlock() }
            return try inTransaction(kind, durability, body)
        }
        return try inTransaction(kind, durability, body)
    }

    private func inTransaction<T>(_ kind: TransactionKind, _ durability: Durability, _ body: () throws -> T) throws -> T {
        // Every kind writes: the write lock is taken at BEGIN (a deferred transaction that upgrades
        // later can fail with SQLITE_BUSY without the busy handler being called).
        try run("BEGIN IMMEDIATE")
        openDurability = durability
        defer { openDurability = nil }
        do {
            let value = try body()
            probe?.beforeCommit(self)
            try run("COMMIT")
            return value
        } catch {
            _ = try? run("ROLLBACK")
            throw error
        }
    }
}
