from django.core.wsgi import get_wsgi_application

from config.entry import choose_settings

choose_settings()
application = get_wsgi_application()
