import AllauthDomain
import FastCGI

/// `GET` of the built-in pages (verified, verification sent, the reset and set-password forms,
/// reset complete). Routed only where no redirect to the deployment's own page is configured.
enum PageHandler {
    static func show(_ template: PageTemplate) -> Router.Handler {
        { request, context in try context.page(template, for: request) }
    }
}
