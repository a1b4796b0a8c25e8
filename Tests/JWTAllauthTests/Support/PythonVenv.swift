import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A venv of pinned PyPI packages for the tests that run real Django code (django-oidc-provider,
/// Django's password hashers), kept in the build folder (`test-cache/<name>-venv`): made with
/// `python3 -m venv` and `pip install` the first time, again only when the pins change.
enum PythonVenv {
    struct Failed: Error, CustomStringConvertible {
        var description: String
    }

    /// The venv's python, with `requirements` installed.
    static func python(_ name: String, requirements: [String]) throws -> String {
        let venv = TestInstance.binary.deletingLastPathComponent().appendingPathComponent("test-cache/\(name)-venv")
        let python = venv.appendingPathComponent("bin/python").path
        let marker = venv.appendingPathComponent("installed-requirements.txt")
        let wanted = requirements.joined(separator: "\n")
        try FileManager.default.createDirectory(at: venv.deletingLastPathComponent(), withIntermediateDirectories: true)
        // One maker at a time, across the parallel tests and processes: a second caller that found
        // bin/python while the first's `venv` was still running ensurepip got "No module named pip".
        let lock = open(venv.path + ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        defer { if lock >= 0 { close(lock) } }
        if lock >= 0 { flock(lock, LOCK_EX) }
        if (try? String(contentsOf: marker, encoding: .utf8)) == wanted, FileManager.default.isExecutableFile(atPath: python) { return python }
        let log = venv.deletingLastPathComponent().appendingPathComponent("\(name)-install.log").path
        try? FileManager.default.removeItem(atPath: log)
        if !FileManager.default.isExecutableFile(atPath: python) {
            try run("/usr/bin/python3", ["-m", "venv", venv.path], environment: ProcessInfo.processInfo.environment, logPath: log, timeout: 120)
        }
        try run(python, ["-m", "pip", "install", "--disable-pip-version-check", "--no-input", "-q"] + requirements,
                environment: ProcessInfo.processInfo.environment, logPath: log, timeout: 600)
        try wanted.write(to: marker, atomically: true, encoding: .utf8)
        return python
    }

    /// Runs a command to its end within `timeout` (else kills it), its output appended to `logPath`;
    /// throws with that log when it fails.
    static func run(_ executable: String, _ arguments: [String], environment: [String: String], logPath: String, timeout: TimeInterval) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        let log = try appending(logPath)
        process.standardOutput = log
        process.standardError = log
        try process.run()
        try? log.close()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw Failed(description: "\(arguments.prefix(3).joined(separator: " ")) took over \(Int(timeout)) s:\n\(text(logPath))")
        }
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failed(description: "\(executable) \(arguments.prefix(3).joined(separator: " ")) exited \(process.terminationStatus):\n\(text(logPath))")
        }
    }

    static func appending(_ path: String) throws -> FileHandle {
        if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        guard let handle = FileHandle(forWritingAtPath: path) else { throw Failed(description: "cannot write \(path)") }
        handle.seekToEndOfFile()
        return handle
    }

    static func text(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
}
