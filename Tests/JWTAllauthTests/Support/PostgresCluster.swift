import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A throwaway PostgreSQL cluster from Debian's postgresql package for the tests: one per test
/// process, started on first use (`PostgresCluster.shared()`) and stopped when the process exits.
/// It listens on 127.0.0.1 on a free port and on a unix socket in its own temporary directory;
/// each `TestInstance` gets a fresh database on it (`createDatabase()`), dropped afterwards.
/// Tests of faults can kill -9 the backend serving a connection and restart the whole cluster.
final class PostgresCluster: Sendable {
    let root: URL
    let port: Int
    let binaries: URL
    /// initdb and postgres refuse to run as root, and CI runs as root: the cluster then runs as
    /// the `postgres` user Debian's package creates, in a directory that user owns.
    private let runAs: (uid: uid_t, gid: gid_t, name: String)?

    var dataDirectory: String { root.appendingPathComponent("data").path }
    /// The unix socket's directory (psql's `-h`).
    var socketDirectory: String { root.path }
    private var logPath: String { root.appendingPathComponent("postgres.log").path }

    enum ClusterError: Error, CustomStringConvertible {
        case notInstalled
        case failed(String, String)
        var description: String {
            switch self {
            case .notInstalled: "PostgreSQL is not installed (apt-get install postgresql)"
            case .failed(let what, let output): "\(what) failed:\n\(output)"
            }
        }
    }

    private static let started = Mutex<Result<PostgresCluster, Error>?>(nil)

    /// The cluster of this test process, started the first time it is asked for. A failed start
    /// is remembered, so that every PostgreSQL test fails with its reason rather than retrying.
    static func shared() throws -> PostgresCluster {
        try started.withLock { started in
            if started == nil {
                started = Result { try PostgresCluster() }
                if case .success = started { atexit { PostgresCluster.stopSharedAtExit() } }
            }
            return try started!.get()
        }
    }

    private init() throws {
        Self.removeOrphans()
        guard let binaries = Self.newestBinaries() else { throw ClusterError.notInstalled }
        var runAs: (uid: uid_t, gid: gid_t, name: String)?
        if geteuid() == 0 {
            guard let entry = getpwnam("postgres") else { throw ClusterError.failed("finding the postgres user", "no user 'postgres'") }
            runAs = (entry.pointee.pw_uid, entry.pointee.pw_gid, "postgres")
        }
        let root = URL(fileURLWithPath: "/tmp").appendingPathComponent("jwt-allauth-pg-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        // Lets a later test process remove this cluster if this one dies without its atexit.
        try String(getpid()).write(to: root.appendingPathComponent("owner.pid"), atomically: true, encoding: .utf8)
        if let runAs { chown(root.path, runAs.uid, runAs.gid) }
        self.binaries = binaries
        self.runAs = runAs
        self.root = root
        port = try Self.initializeAndStart(binaries: binaries, runAs: runAs?.name, root: root)
    }

    /// initdb, then the server on a free port; answers the port.
    private static func initializeAndStart(binaries: URL, runAs user: String?, root: URL) throws -> Int {
        let data = root.appendingPathComponent("data").path
        try execute(binaries.appendingPathComponent("initdb").path,
                    ["-D", data, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions"],
                    as: user, in: root, what: "initdb")
        // A busy port between choosing and binding it: try another.
        var lastError: Error?
        for _ in 0..<3 {
            let port = TestInstance.freePort()
            do {
                try writeSettings(dataDirectory: data, port: port, socketDirectory: root.path)
                try execute(binaries.appendingPathComponent("pg_ctl").path,
                            ["-D", data, "-l", root.appendingPathComponent("postgres.log").path, "-w", "-t", "60", "start"],
                            as: user, in: root, what: "pg_ctl start")
                return port
            } catch {
                lastError = error
            }
        }
        throw lastError!
    }

    /// The settings the tests rely on, written into the cluster's own postgresql.auto.conf so a
    /// restart keeps them.
    private static func writeSettings(dataDirectory: String, port: Int, socketDirectory: String) throws {
        let settings = """
            listen_addresses = '127.0.0.1'
            port = \(port)
            unix_socket_directories = '\(socketDirectory)'
            # Two hosts of 2 workers x 16 threads each, their mail processes and the tests' own
            # connections, with room for instances still closing.
            max_connections = 300
            shared_buffers = 32MB
            # A throwaway cluster: an OS crash loses it anyway. Tests of durability turn it back on.
            fsync = off
            full_page_writes = off
            """
        try settings.write(toFile: dataDirectory + "/postgresql.auto.conf", atomically: false, encoding: .utf8)
    }

    // MARK: databases

    /// A `postgresql://` URL for `database`, over TCP on loopback as the workers connect in production.
    func url(database: String) -> String { "postgresql://postgres@127.0.0.1:\(port)/\(database)" }

    /// A new, empty database, dropped when the answer is let go.
    func createDatabase() throws -> PostgresDatabase {
        PostgresDatabase(cluster: self, name: try createDatabaseForTheRun())
    }

    /// A new, empty database (from template0, so nothing a test added to template1 leaks in) that
    /// lives as long as the cluster; answers its name.
    func createDatabaseForTheRun() throws -> String {
        let name = "jwt_allauth_\(UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: ""))"
        try sql("CREATE DATABASE \(name) TEMPLATE template0")
        return name
    }

    /// Drops `name` even if connections are still open (a worker being stopped).
    func dropDatabase(_ name: String) throws {
        try sql("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }

    /// Runs `query` with psql over the unix socket as the superuser; answers the rows, each row's
    /// columns separated by `|`.
    @discardableResult
    func sql(_ query: String, database: String = "postgres") throws -> [String] {
        let output = try execute(binaries.appendingPathComponent("psql").path,
                                 ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", socketDirectory, "-p", String(port),
                                  "-U", "postgres", "-d", database, "-c", query], as: nil, what: "psql: \(query)")
        return output.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
    }

    // MARK: faults

    /// The pids of the backends serving client connections to `database`, optionally only those
    /// whose application_name is `application`.
    func backends(database: String, application: String? = nil) throws -> [pid_t] {
        var query = "SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend' AND datname = '\(database)'"
        if let application { query += " AND application_name = '\(application)'" }
        return try sql(query).compactMap { pid_t($0) }
    }

    /// The pids of the backends serving `process`'s connections to `database`: its TCP sockets to
    /// the cluster's port (from /proc) matched to pg_stat_activity's client_port.
    func backends(database: String, clientProcess process: pid_t) throws -> [pid_t] {
        let ports = Self.localPorts(of: process, connectedTo: port)
        guard !ports.isEmpty else { return [] }
        let list = ports.map(String.init).joined(separator: ",")
        return try sql("SELECT pid FROM pg_stat_activity WHERE datname = '\(database)' AND client_port IN (\(list))").compactMap { pid_t($0) }
    }

    /// The local ports of `process`'s IPv4 TCP sockets whose remote port is `remotePort`.
    private static func localPorts(of process: pid_t, connectedTo remotePort: Int) -> [Int] {
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(process)/fd")) ?? []
        let inodes = Set(fds.compactMap { fd -> Substring? in
            let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(process)/fd/\(fd)")) ?? ""
            guard target.hasPrefix("socket:[") else { return nil }
            return Substring(target.dropFirst("socket:[".count).dropLast())
        })
        // Read to the end: String(contentsOfFile:) stops after the first page of a /proc file.
        let table = FileHandle(forReadingAtPath: "/proc/\(process)/net/tcp").flatMap { try? $0.readToEnd() }
            .map { String(decoding: $0, as: UTF8.self) } ?? ""
        // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode …; addresses are HEX_IP:HEX_PORT.
        return table.split(separator: "\n").dropFirst().compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count > 9, inodes.contains(fields[9]),
                  let remote = fields[2].split(separator: ":").last, Int(remote, radix: 16) == remotePort,
                  let local = fields[1].split(separator: ":").last
            else { return nil }
            return Int(local, radix: 16)
        }
    }

    /// kill -9 of one backend. The postmaster then ends every other backend too and runs crash
    /// recovery before it accepts connections again: what a crashed server process does to a
    /// real deployment.
    func killBackend(_ pid: pid_t) {
        kill(pid, SIGKILL)
    }

    /// `pg_ctl restart -m fast`: every connection is closed, the server is back when this returns.
    func restart() throws {
        try run("pg_ctl", ["-D", dataDirectory, "-l", logPath, "-m", "fast", "-w", "-t", "60", "restart"])
    }

    /// Whether the cluster accepts connections now (pg_isready).
    var isReady: Bool {
        (try? execute(binaries.appendingPathComponent("pg_isready").path,
                      ["-q", "-h", socketDirectory, "-p", String(port), "-t", "2"], as: nil, what: "pg_isready")) != nil
    }

    /// The postmaster's pid, from the first line of its postmaster.pid.
    var postmasterPID: pid_t? {
        (try? String(contentsOfFile: dataDirectory + "/postmaster.pid", encoding: .utf8))
            .flatMap { $0.split(separator: "\n").first }.flatMap { pid_t($0) }
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    // MARK: stopping

    /// At exit: an immediate shutdown (SIGQUIT to the postmaster; nothing needs to survive) and
    /// the directory removed. Plain system calls only: Foundation's Process is not for atexit.
    private static func stopSharedAtExit() {
        guard case .success(let cluster)? = started.withLock({ $0 }) else { return }
        Self.stop(directory: cluster.root, postmaster: cluster.postmasterPID)
    }

    private static func stop(directory: URL, postmaster: pid_t?) {
        if let postmaster, kill(postmaster, SIGQUIT) == 0 {
            // Bounded: 10 s, then the postmaster is killed outright.
            for _ in 0..<200 where kill(postmaster, 0) == 0 { usleep(50_000) }
            if kill(postmaster, 0) == 0 { kill(postmaster, SIGKILL) }
        }
        try? FileManager.default.removeItem(at: directory)
    }

    /// Clusters left by test processes that died without running their atexit (a crash, kill -9).
    private static func removeOrphans() {
        let tmp = URL(fileURLWithPath: "/tmp")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: tmp.path)) ?? []
        for name in names where name.hasPrefix("jwt-allauth-pg-") {
            let directory = tmp.appendingPathComponent(name)
            let owner = (try? String(contentsOf: directory.appendingPathComponent("owner.pid"), encoding: .utf8)).flatMap { pid_t($0) }
            guard let owner, kill(owner, 0) != 0 else { continue }
            let postmaster = (try? String(contentsOfFile: directory.path + "/data/postmaster.pid", encoding: .utf8))
                .flatMap { $0.split(separator: "\n").first }.flatMap { pid_t($0) }
            stop(directory: directory, postmaster: postmaster)
        }
    }

    // MARK: commands

    /// Debian installs each major version in /usr/lib/postgresql/<version>/bin; the newest wins.
    private static func newestBinaries() -> URL? {
        let base = URL(fileURLWithPath: "/usr/lib/postgresql")
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: base.path)) ?? []).compactMap { Int($0) }.sorted()
        return versions.last.map { base.appendingPathComponent("\($0)/bin") }
            .flatMap { FileManager.default.isExecutableFile(atPath: $0.appendingPathComponent("initdb").path) ? $0 : nil }
    }

    /// Runs one of the server's own programs as the cluster's user.
    private func run(_ program: String, _ arguments: [String]) throws {
        try Self.execute(binaries.appendingPathComponent(program).path, arguments, as: runAs?.name, in: root, what: program)
    }

    @discardableResult
    private func execute(_ path: String, _ arguments: [String], as user: String?, what: String) throws -> String {
        try Self.execute(path, arguments, as: user, in: root, what: what)
    }

    /// Runs a program to its end (as `user` via runuser when given) in `directory` (the server's
    /// user may not be able to enter the test's own) and answers its output; throws with the
    /// output and the server's log on a non-zero exit. pg_ctl's own timeouts bound its waits,
    /// PGCONNECT_TIMEOUT psql's.
    /// posix_spawn and waitpid, not Foundation's Process: pg_ctl leaves a daemon behind, and
    /// Process.waitUntilExit then never returned (the exited runuser stayed a zombie).
    @discardableResult
    private static func execute(_ path: String, _ arguments: [String], as user: String?, in directory: URL, what: String) throws -> String {
        // env -C: the working directory (posix_spawn_file_actions_addchdir_np is not visible to Swift).
        let argv = ["/usr/bin/env", "-C", directory.path] + (user.map { ["/usr/sbin/runuser", "-u", $0, "--", path] } ?? [path]) + arguments
        let outputPath = directory.appendingPathComponent(".output-\(UUID().uuidString)").path
        defer { unlink(outputPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let environment = ProcessInfo.processInfo.environment.merging(["PGCONNECT_TIMEOUT": "10"]) { $1 }.map { "\($0)=\($1)" }
        let cArguments = argv.map { strdup($0) } + [nil]
        let cEnvironment = environment.map { strdup($0) } + [nil]
        defer { (cArguments + cEnvironment).forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, argv[0], &actions, nil, cArguments, cEnvironment)
        guard spawned == 0 else { throw ClusterError.failed(what, "cannot start \(argv[0]): \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        // Exited normally with status 0 (WIFEXITED && WEXITSTATUS == 0).
        guard status & 0x7f == 0, (status >> 8) & 0xff == 0 else {
            let log = (try? String(contentsOf: directory.appendingPathComponent("postgres.log"), encoding: .utf8)) ?? ""
            throw ClusterError.failed(what, text + "\n" + log)
        }
        return text
    }
}

/// One fresh database on the shared cluster, dropped when the last instance using it lets go (two
/// `TestInstance`s of the multi-host tests share one).
final class PostgresDatabase: Sendable {
    let cluster: PostgresCluster
    let name: String
    var url: String { cluster.url(database: name) }

    fileprivate init(cluster: PostgresCluster, name: String) {
        self.cluster = cluster
        self.name = name
    }

    deinit { try? cluster.dropDatabase(name) }

    @discardableResult
    func sql(_ query: String) throws -> [String] { try cluster.sql(query, database: name) }

    /// The backends serving this database's clients (see `PostgresCluster.backends`).
    func backends(application: String? = nil) throws -> [pid_t] { try cluster.backends(database: name, application: application) }

    /// The backends serving `process`'s connections to this database (a worker's, one per thread
    /// that has used the store).
    func backends(ofClientProcess process: pid_t) throws -> [pid_t] { try cluster.backends(database: name, clientProcess: process) }
}
