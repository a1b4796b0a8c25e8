import AllauthCore
import FastCGI
import Foundation

/// `GET health/`: 200 once the database answers; 503 if it does not. The world (a load balancer,
/// an uptime check) learns only that: `{"status":"ok"}`. The release, the database's state and
/// the schema's last migration are for the site's monitoring addresses (the metrics allow-list,
/// which nginx marks with `JWT_ALLAUTH_MONITORING=1`): they tell an attacker which version to try.
enum HealthHandler {
    static func get(_ request: Request, _ context: HandlerContext) throws -> Response {
        let schema: String?
        do {
            schema = try context.db.first("SELECT name FROM schema_migrations ORDER BY name DESC LIMIT 1") { $0.string(0) }
        } catch {
            let detail: [(String, JSON)] = request.isMonitoring ? [("version", .string(Version.release)), ("database", "error")] : []
            return .json(.object([("status", "unavailable")] + detail), status: .serviceUnavailable)
        }
        guard request.isMonitoring else { return .json(.object([("status", "ok")])) }
        return .json(.object([("status", "ok"), ("version", .string(Version.release)), ("database", "ok"),
                              ("schema", schema.map(JSON.string) ?? .null)]))
    }
}
