import AllauthStore
import ArgumentParser
import Foundation

/// `jwt-allauth migrate-store --from sqlite:PATH --to postgresql://…`: moves a deployment's
/// store to PostgreSQL (`StoreCopy`), with a progress line per table and a count check at the end.
struct MigrateStoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate-store",
        abstract: "Copy an SQLite store into PostgreSQL: every table, in batches, resumable, verified by counts.",
        discussion: """
            Stop the service first (a copy of a store still being written misses the last changes). \
            Interrupted, run it again: it carries on after the rows already copied. Exits non-zero when \
            a table's counts differ. Then set database.url to the PostgreSQL URL and start the service.
            """)

    @Option(help: "The SQLite store: sqlite:PATH.") var from: String
    @Option(help: "The PostgreSQL store: postgresql://USER@HOST[:PORT]/DATABASE (password from --password-file or PG* variables).")
    var to: String
    @Option(help: "A file holding the PostgreSQL password.") var passwordFile: String?
    @Option(help: "Rows per batch (one transaction each).") var batch = 1000

    func run() throws {
        let resolve = { (path: String) in URL(fileURLWithPath: path).standardizedFileURL.path }
        guard case .sqlite(let path) = try StoreLocation.parse(from, key: "--from", resolve: resolve),
              FileManager.default.fileExists(atPath: path) else {
            throw CommandFailure("--from must name an existing SQLite store: sqlite:PATH")
        }
        guard case .postgreSQL(let url, _) = try StoreLocation.parse(to, key: "--to", resolve: resolve) else {
            throw CommandFailure("--to must be a postgresql:// URL")
        }
        let password = try passwordFile.map {
            try String(contentsOfFile: $0, encoding: .utf8).trimmingCharacters(in: .newlines)
        }
        let target = StoreLocation.postgreSQL(url: url, password: password)
        // Generous timeouts: a batch of a thousand rows is one statement.
        let copy = try StoreCopy(from: try SQLiteDatabase(path: path, busyTimeout: 30), to: try target.connect(busyTimeout: 300), batchSize: batch)
        say("copying sqlite:\(path) to \(target.description)")
        let counts = try copy.run { progress in
            let rate = progress.rowsPerSecond.isFinite ? Int(progress.rowsPerSecond) : 0
            let resumed = progress.resumedFrom > 0 ? " (\(progress.resumedFrom) copied before)" : ""
            say("\(progress.table): \(progress.copied) of \(progress.total) rows\(resumed), \(rate) rows/s\(progress.finished ? ", done" : "")")
        }
        var mismatched = false
        for count in counts {
            say("\(count.matches ? "ok" : "MISMATCH") \(count.table): \(count.source) in SQLite, \(count.target) in PostgreSQL")
            mismatched = mismatched || !count.matches
        }
        if mismatched {
            throw CommandFailure("the counts differ: was the service still writing, or does the target hold rows of its own?")
        }
        say("done: set database.url to \(target.description) and start the service.")
    }

    /// Unbuffered, so a redirected log shows the copy moving as it goes.
    private func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}
