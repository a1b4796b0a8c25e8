import AllauthDomain
import AllauthRuntime
import FastCGI

/// What a handler calls: the use cases, and where a flow's browser redirects lead.
extension HandlerContext {
    /// The use cases wired to this request's connection, the configuration and the worker's keys
    /// (`Flows`, in the domain: how each use case is put together is said there).
    var flows: Flows {
        Flows(db: db, config: config, tokens: service.tokens, issuer: service.issuer, hashing: service.hashing,
              templates: service.templates, mfaKey: service.mfaKey, language: language)
    }
    var oneTimeTokens: OneTimeTokens { OneTimeTokens(db) }

    /// A configured redirect target, or the built-in page below the mount.
    func redirectTarget(_ configured: String?, builtIn path: String) -> String {
        configured ?? config.server.mount + "/" + path
    }
}
