import AllauthStore
import ArgumentParser
import Foundation

/// `jwt-allauth backup FILE`: an online copy of the database while the pool runs (see `OnlineBackup`).
struct BackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Copy the live database to a new FILE with SQLite's online backup API (the pool keeps running).",
        discussion: """
            Restore: stop the service, replace the database file with the copy, delete the old file's \
            -wal and -shm files, give the copy to the service user, start the service (docs/operations.md, "Backup and restore").
            """
    )
    @OptionGroup var options: ConfigOption
    @Argument(help: "The new file to write (never overwritten).") var file: String

    func run() throws {
        let config = try options.load()
        guard case .sqlite = config.database.location else {
            throw CommandFailure("""
                backup copies an SQLite store; this one is PostgreSQL (\(config.database.location.description)). \
                Use PostgreSQL's own tools: pg_dump --format=custom --file=FILE (restore with pg_restore), \
                or continuous archiving for point-in-time recovery (docs/postgresql.md).
                """)
        }
        let db = try SQLiteDatabase(path: config.database.path, busyTimeout: config.database.busyTimeout)
        let report = try OnlineBackup(db).copy(to: file)
        print("backup of \(config.database.path) written to \(file): \(report.pages) pages in \(report.steps) steps, integrity \(report.integrity).")
    }
}
