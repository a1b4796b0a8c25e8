import CSQLite
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Test-only instrumentation of transactions. Inert unless an end-to-end test sets one of its
/// environment variables (nothing in a deployment does; `ConfigReader` lets the names through):
/// - `JWT_ALLAUTH_TEST_COMMIT_LOG=FILE`: just before each COMMIT, one line is appended to FILE: the
///   `PRAGMA synchronous` in force at that moment, as SQLite answers it (not our own bookkeeping),
///   and the transaction's statements, so a test sees the durability of each operation it runs.
/// - `JWT_ALLAUTH_TEST_STOP_BEFORE_COMMIT=FILE`: when FILE exists and a statement of a transaction
///   contains FILE's text, the process removes FILE and stops itself (SIGSTOP) just before COMMIT,
///   with the write locks held: a worker frozen in the middle of a write, at a known point, once.
package final class TransactionProbe {
    private static let commitLogPath = ProcessInfo.processInfo.environment["JWT_ALLAUTH_TEST_COMMIT_LOG"]
    private static let stopFile = ProcessInfo.processInfo.environment["JWT_ALLAUTH_TEST_STOP_BEFORE_COMMIT"]
    package static let environmentNames: Set<String> = ["JWT_ALLAUTH_TEST_COMMIT_LOG", "JWT_ALLAUTH_TEST_STOP_BEFORE_COMMIT"]

    private let commitLog: Int32
    /// The statements run since the last BEGIN, as SQLite's trace reports them.
    private var statements: [String] = []

    static func fromEnvironment() -> TransactionProbe? {
        commitLogPath == nil && stopFile == nil ? nil : TransactionProbe()
    }

    private init() {
        commitLog = Self.commitLogPath.map { open($0, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600) } ?? -1
    }

    deinit { if commitLog >= 0 { close(commitLog) } }

    func attach(to handle: OpaquePointer?) {
        sqlite3_trace_v2(handle, UInt32(SQLITE_TRACE_STMT), { _, context, _, sql in
            guard let context, let sql else { return 0 }
            let probe = Unmanaged<TransactionProbe>.fromOpaque(context).takeUnretainedValue()
            let text = String(cString: sql.assumingMemoryBound(to: CChar.self))
            if text.hasPrefix("BEGIN") { probe.statements = [] }
            if !text.hasPrefix("PRAGMA") { probe.statements.append(text) }
            return 0
        }, Unmanaged.passUnretained(self).toOpaque())
    }

    func beforeCommit(_ db: SQLiteDatabase) {
        let flat = statements.map { $0.split(whereSeparator: \.isWhitespace).joined(separator: " ") }
        if commitLog >= 0 {
            let level = (try? db.first("PRAGMA synchronous") { $0.int(0) }) ?? -1
            let name = [0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"][level] ?? "\(level)"
            // One write(2) per line with O_APPEND: lines of several processes never interleave.
            let line = "synchronous=\(name)\t" + flat.joined(separator: " ; ") + "\n"
            _ = line.withCString { write(commitLog, $0, strlen($0)) }
        }
        if let stopFile = Self.stopFile, let marker = try? String(contentsOfFile: stopFile, encoding: .utf8),
           flat.contains(where: { $0.contains(marker.trimmingCharacters(in: .whitespacesAndNewlines)) }),
           unlink(stopFile) == 0 {
            raise(SIGSTOP)
        }
    }
}
