import Foundation

/// The store the end-to-end tests run against: SQLite by default, PostgreSQL (a fresh database per
/// instance on a throwaway cluster) with `JWT_ALLAUTH_TEST_ENGINE=postgresql`. `make test` runs
/// the whole suite on SQLite, then the end-to-end suites again on PostgreSQL.
enum TestEngine: String, Sendable {
    case sqlite
    case postgresql

    static let current: TestEngine = {
        let name = ProcessInfo.processInfo.environment["JWT_ALLAUTH_TEST_ENGINE"] ?? "sqlite"
        // A misspelt engine would silently test SQLite twice.
        guard let engine = TestEngine(rawValue: name) else { fatalError("JWT_ALLAUTH_TEST_ENGINE must be sqlite or postgresql, not \(name)") }
        return engine
    }()

    /// For `.enabled(if:)` on tests that are about SQLite itself (its file, its writer lock).
    static var isSQLite: Bool { current == .sqlite }
}
