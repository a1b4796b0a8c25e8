import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The throwaway cluster the PostgreSQL tests stand on: if these fail, every PostgreSQL result
/// below them means nothing.
@Suite(.serialized)
struct PostgresClusterTests {
    @Test func freshDatabasesAreEmptyAndSeparate() throws {
        let cluster = try PostgresCluster.shared()
        let first = try cluster.createDatabase()
        let second = try cluster.createDatabase()
        try first.sql("CREATE TABLE marks (id integer)")
        try first.sql("INSERT INTO marks VALUES (1)")
        #expect(try first.sql("SELECT COUNT(*) FROM marks") == ["1"])
        #expect(try second.sql("SELECT COUNT(*) FROM pg_tables WHERE tablename = 'marks'") == ["0"])
        #expect(first.url.hasPrefix("postgresql://postgres@127.0.0.1:\(cluster.port)/jwt_allauth_"))
    }

    @Test func aDatabaseIsDroppedWhenLetGo() throws {
        let cluster = try PostgresCluster.shared()
        var database: PostgresDatabase? = try cluster.createDatabase()
        let name = database!.name
        #expect(try cluster.sql("SELECT COUNT(*) FROM pg_database WHERE datname = '\(name)'") == ["1"])
        database = nil
        #expect(try cluster.sql("SELECT COUNT(*) FROM pg_database WHERE datname = '\(name)'") == ["0"])
    }

    @Test func theClusterRunsAsThePostgresUserWhenTheTestsRunAsRoot() throws {
        let cluster = try PostgresCluster.shared()
        let postmaster = try #require(cluster.postmasterPID)
        let status = try String(contentsOfFile: "/proc/\(postmaster)/status", encoding: .utf8)
        let uid = status.split(separator: "\n").first { $0.hasPrefix("Uid:") }?.split(separator: "\t").dropFirst().first
        let expected = geteuid() == 0 ? getpwnam("postgres").pointee.pw_uid : geteuid()
        #expect(uid.flatMap { uid_t($0) } == expected)
        #expect(try cluster.sql("SHOW listen_addresses") == ["127.0.0.1"])
    }

    @Test func aKilledBackendEndsItsConnectionAndTheClusterRecovers() throws {
        let cluster = try PostgresCluster.shared()
        let database = try Self.databaseKeeping(7, on: cluster)
        let sleeper = try Self.psql(cluster, database: database.name, application: "cluster-self-test", "SELECT pg_sleep(60)")
        defer { if sleeper.isRunning { sleeper.terminate() } }

        var backends: [pid_t] = []
        for _ in 0..<100 where backends.isEmpty {
            backends = try database.backends(application: "cluster-self-test")
            if backends.isEmpty { usleep(50_000) }
        }
        let backend = try #require(backends.first)
        #expect(try database.backends(ofClientProcess: sleeper.processIdentifier) == [backend], "found by the client's TCP port too")
        cluster.killBackend(backend)
        #expect(Self.waitForExit(sleeper, timeout: 10), "the client of a killed backend sees its connection end")
        #expect(sleeper.terminationStatus != 0)

        // The postmaster runs crash recovery, then accepts connections again with the data intact.
        #expect(Self.eventually(timeout: 30) { cluster.isReady })
        #expect(try database.sql("SELECT id FROM kept") == ["7"])
    }

    @Test func aRestartKeepsThePortAndTheData() throws {
        let cluster = try PostgresCluster.shared()
        let database = try Self.databaseKeeping(8, on: cluster)
        let before = try #require(cluster.postmasterPID)
        try cluster.restart()
        #expect(cluster.postmasterPID != before)
        #expect(try database.sql("SELECT id FROM kept") == ["8"])
        #expect(try cluster.sql("SHOW port") == [String(cluster.port)])
    }

    // MARK: helpers

    /// A fresh database with one row in table `kept`, to find again after a fault.
    static func databaseKeeping(_ value: Int, on cluster: PostgresCluster) throws -> PostgresDatabase {
        let database = try cluster.createDatabase()
        try database.sql("CREATE TABLE kept (id integer)")
        try database.sql("INSERT INTO kept VALUES (\(value))")
        return database
    }

    /// psql in the background over TCP, as a worker connects, with an application_name to find it by.
    static func psql(_ cluster: PostgresCluster, database: String, application: String, _ query: String) throws -> Process {
        let process = Process()
        process.executableURL = cluster.binaries.appendingPathComponent("psql")
        process.arguments = ["-X", "-q", "-d", cluster.url(database: database) + "?application_name=\(application)", "-c", query]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    static func waitForExit(_ process: Process, timeout: TimeInterval) -> Bool {
        eventually(timeout: timeout) { !process.isRunning }
    }

    static func eventually(timeout: TimeInterval, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            usleep(50_000)
        }
        return condition()
    }
}
