"""gunicorn's settings file (read from the working directory): the access log names each
request's id (the X-Request-ID the platform puts on every response), so an access line and
the application's log lines of one request can be matched."""

access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms request_id=%({x-request-id}o)s agent="%(a)s"'
