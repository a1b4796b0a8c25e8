import CSQLite
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `jwt-allauth backup FILE`: a consistent copy of the live database with SQLite's online backup
/// API, while the pool keeps serving.
///
/// The copy is made from one read transaction held across all the small steps. In WAL mode a
/// reader never blocks the writer, so rotations go on at full speed; and because the snapshot
/// does not move, writes made meanwhile neither restart the backup (which steps without a held
/// transaction would do under a steady refresh load, never finishing) nor leak into the copy:
/// the copy is the database exactly as it was when the backup began. The only cost is that WAL
/// checkpoints cannot pass that snapshot until the copy is done, so the WAL grows for a moment.
public struct OnlineBackup {
    public struct Report: Sendable {
        public var pages: Int32
        public var steps: Int
        public var integrity: String
    }

    public enum BackupError: Error, CustomStringConvertible {
        case exists(String)
        case sqlite(String, String)

        public var description: String {
            switch self {
            case .exists(let path): "\(path) exists; choose a new file name (a backup never overwrites)"
            case .sqlite(let step, let message): "backup failed (\(step)): \(message)"
            }
        }
    }

    let source: SQLiteDatabase
    /// Pages copied per step (4 KiB each), and the pause between steps, so the copy's disk writes
    /// leave room for the service's own.
    var pagesPerStep: Int32 = 256
    var pause: useconds_t = 1000

    public init(_ source: SQLiteDatabase) { self.source = source }

    /// Copies into a new file at `destination` (written beside it under a temporary name and moved
    /// into place when complete and checked, so a half-made copy never carries the final name).
    public func copy(to destination: String) throws -> Report {
        guard !FileManager.default.fileExists(atPath: destination) else { throw BackupError.exists(destination) }
        let temporary = destination + ".partial-\(getpid())"
        unlink(temporary)
        // A copy of every account's hash and session: its owner's alone, like the database.
        try SQLiteDatabase.createPrivately(temporary)
        var target: OpaquePointer?
        guard sqlite3_open_v2(temporary, &target, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nil) == SQLITE_OK else {
            defer { sqlite3_close(target) }
            throw BackupError.sqlite("open \(temporary)", target.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open")
        }
        var moved = false
        defer {
            sqlite3_close(target)
            if !moved { unlink(temporary) }
        }

        // The snapshot: a read transaction, started by a first read, held until the last page.
        try source.execute("BEGIN")
        defer { try? source.execute("COMMIT") }
        _ = try source.first("SELECT COUNT(*) FROM sqlite_master") { $0.int(0) }

        guard let backup = sqlite3_backup_init(target, "main", source.handle, "main") else {
            throw BackupError.sqlite("init", String(cString: sqlite3_errmsg(target)))
        }
        var steps = 0
        var result: Int32
        repeat {
            result = sqlite3_backup_step(backup, pagesPerStep)
            steps += 1
            if result == SQLITE_OK || result == SQLITE_BUSY || result == SQLITE_LOCKED { usleep(pause) }
        } while result == SQLITE_OK || result == SQLITE_BUSY || result == SQLITE_LOCKED
        let pages = sqlite3_backup_pagecount(backup)
        sqlite3_backup_finish(backup)
        guard result == SQLITE_DONE else { throw BackupError.sqlite("step", String(cString: sqlite3_errstr(result))) }

        var integrity = ""
        var statement: OpaquePointer?
        if sqlite3_prepare_v2(target, "PRAGMA integrity_check", -1, &statement, nil) == SQLITE_OK {
            while sqlite3_step(statement) == SQLITE_ROW {
                integrity += (integrity.isEmpty ? "" : "; ") + String(cString: sqlite3_column_text(statement, 0))
            }
        }
        sqlite3_finalize(statement)
        guard integrity == "ok" else { throw BackupError.sqlite("integrity_check", integrity) }
        sqlite3_close(target)
        target = nil
        guard rename(temporary, destination) == 0 else { throw BackupError.sqlite("rename", String(cString: strerror(errno))) }
        moved = true
        return Report(pages: pages, steps: steps, integrity: integrity)
    }
}
