"""A local stand-in for the slice of Microsoft Graph v1.0 accessctl calls (like Azurite for
Azure Storage): `graph-emulator --tenant examples/tenant.yaml --port 8900`, then point
msgraph-sdk at http://127.0.0.1:8900/v1.0 with anonymous auth.

Modules, one idea each:
    seed        the tenant seed YAML as pydantic models
    directory   the in-memory tenant and its operations (raise Graph's errors)
    errors      GraphError and Graph's error body
    odata       $filter / $select / paging
    router      method + path template -> handler, Graph's "unknown segment" answer
    routes_*    Graph endpoints: users, groups, service principals, the rest
    responses   @odata.context, entities and paged collections
    faults      fault rules (status, Retry-After, latency, count)
    throttling  429 with Retry-After past a number of calls in a sliding window
    emulator    one call in, one answer out: throttling, faults, routing, $batch, call log,
                state file
    control     /_emulator/ endpoints (outbox, faults, log, reset, state, settings, B2B policy)
    app         create_app(emulator) -> Starlette
    server      EmulatorServer: in-process on a free port, in a background thread
    testing     EmulatorControl: an HTTP client for /_emulator/

Choices where Graph answers in more than one way:
- Removing a member or owner that is not there answers 404 Request_ResourceNotFound
  (Graph also answers 400 "...removed object references do not exist..." in some cases;
  the activities accept both).
- Every group is soft-deleted and restorable (Entra hard-deletes security groups).
- A deleted user's userPrincipalName gets its object id as a prefix, as in Entra, so the
  address can be invited again; restore gives the name back if it is still free.
- Messages we could not confirm word for word (invitation refusals, tenant look-up 404)
  are close paraphrases; codes and statuses follow Graph.
"""
