import AllauthDomain
import AllauthRuntime
import FastCGI
import HTTPTypes

/// `GET metrics/`: the whole pool's figures in the Prometheus text format — every process's
/// counter file summed, whichever worker answers — plus the mail queue read from the outbox.
/// The nginx site lets only its allowlist (loopback by default) reach this location.
enum MetricsHandler {
    static func get(_ request: Request, _ context: HandlerContext) throws -> Response {
        let snapshot = context.service.metricsDirectory?.snapshot() ?? context.metrics.snapshot
        let mail = try Outbox(context.db).depth()
        let text = PrometheusText.render(snapshot, gauges: [
            .init(name: "jwt_allauth_mail_queue_depth", help: "Mails in the outbox waiting for delivery.", value: mail.queued),
            .init(name: "jwt_allauth_mail_failed", help: "Mails in the outbox the mail process gave up on.", value: mail.failed),
        ])
        var fields = HTTPFields()
        fields[.contentType] = PrometheusText.contentType
        fields[.cacheControl] = "no-store"
        return Response(status: .ok, headerFields: fields, body: Array(text.utf8))
    }
}
