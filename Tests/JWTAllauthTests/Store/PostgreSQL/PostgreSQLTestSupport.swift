import Foundation
import Synchronization
import Testing
@testable import AllauthStore

/// Fresh databases for the engine tests, on the tests' throwaway cluster (`PostgresCluster`), or
/// on the server named by `JWT_ALLAUTH_TEST_POSTGRES_URL` (an admin URL) when it is set.
enum TestPostgreSQL {
    /// A new empty database's URL.
    static func freshDatabase() throws -> String {
        guard let adminURL = ProcessInfo.processInfo.environment["JWT_ALLAUTH_TEST_POSTGRES_URL"] else {
            let cluster = try PostgresCluster.shared()
            return cluster.url(database: try cluster.createDatabaseForTheRun())
        }
        let name = "engine_" + UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: "")
        let admin = PostgreSQLDatabase(PostgreSQLSettings(url: adminURL, password: nil, busyTimeout: 10))
        try admin.execute("CREATE DATABASE \(name)")
        return String(adminURL[..<adminURL.range(of: "/", options: .backwards)!.lowerBound]) + "/" + name
    }

    static func connect(_ url: String, busyTimeout: TimeInterval = 5) -> PostgreSQLDatabase {
        PostgreSQLDatabase(PostgreSQLSettings(url: url, password: nil, busyTimeout: busyTimeout))
    }

    /// A new migrated database and a connection to it.
    static func migrated() throws -> (url: String, db: PostgreSQLDatabase) {
        let url = try freshDatabase()
        let db = connect(url)
        try Migrator.migrate(db)
        return (url, db)
    }
}

/// Runs `body` on `count` threads at once, each with its own connection (as workers on several
/// hosts have), and answers every thread's result. Bounded: gives up after `timeout`.
func onParallelConnections<T: Sendable>(_ count: Int, url: String, timeout: TimeInterval = 30,
                                        _ body: @escaping @Sendable (PostgreSQLDatabase, Int) throws -> T) -> [Result<T, Error>] {
    let results = Mutex<[Int: Result<T, Error>]>([:])
    let start = DispatchSemaphore(value: 0)
    let group = DispatchGroup()
    for index in 0..<count {
        group.enter()
        let thread = Thread {
            let db = TestPostgreSQL.connect(url)
            // Connect before the start signal, so the race is between statements, not connections.
            _ = try? db.first("SELECT 1") { _ in () }
            start.wait()
            let result = Result { try body(db, index) }
            results.withLock { $0[index] = result }
            group.leave()
        }
        thread.start()
    }
    Thread.sleep(forTimeInterval: 0.2)
    for _ in 0..<count { start.signal() }
    if group.wait(timeout: .now() + timeout) == .timedOut { Issue.record("parallel connections did not finish within \(timeout) s") }
    return results.withLock { results in (0..<count).compactMap { results[$0] } }
}
