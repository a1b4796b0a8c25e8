import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A Python script of the tests (the SMTP sink, the OpenID provider) run as a child process on
/// loopback: started with its output appended to a log, waited for until it is ready, and stopped
/// with a signal, every wait bounded.
enum PythonHelper {
    /// Starts `/usr/bin/python3 script arguments…` and waits at most `timeout` until `isReady`;
    /// throws the log's text when the script exits or never becomes ready.
    static func start(_ script: URL, _ arguments: [String], logPath: String, timeout: TimeInterval = 15,
                      isReady: () -> Bool) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [script.path] + arguments
        if !FileManager.default.fileExists(atPath: logPath) { _ = FileManager.default.createFile(atPath: logPath, contents: nil) }
        let log = FileHandle(forWritingAtPath: logPath)
        log?.seekToEndOfFile()
        process.standardOutput = log
        process.standardError = log
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if isReady() { return process }
            guard process.isRunning else { break }
            usleep(50_000)
        }
        kill(process.processIdentifier, SIGKILL)
        throw NotStarted(log: (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "")
    }

    struct NotStarted: Error { var log: String }

    /// Sends `signal` and waits for the exit, at most 5 s before SIGKILL.
    static func stop(_ process: Process?, signal: Int32 = SIGTERM) {
        guard let process, process.isRunning else { return }
        kill(process.processIdentifier, signal)
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}
