import AllauthCore
import FastCGI
import Foundation

/// `GET health/`: 200 once the database answers; 503 if it does not.
enum HealthHandler {
    static func get(_ request: Request, _ context: HandlerContext) throws -> Response {
        let schema: String?
        do {
            schema = try context.db.first("SELECT name FROM schema_migrations ORDER BY name DESC LIMIT 1") { $0.string(0) }
        } catch {
            return .json(.object([("status", "unavailable"), ("database", "error")]), status: .serviceUnavailable)
        }
        return .json(.object([("status", "ok"), ("database", "ok"), ("schema", schema.map(JSON.string) ?? .null)]))
    }
}
