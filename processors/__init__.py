"""The stream processors: verify, deduplicate, correlate, apply the policy and route.

A faust-streaming application built by :func:`processors.app.build_app` and run by
``corridor process`` (:func:`processors.worker.run_worker`). Importing this package has
no side effects; the modules are imported where they are used.
"""
