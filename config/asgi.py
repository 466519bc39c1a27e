from django.core.asgi import get_asgi_application

from config.entry import choose_settings

choose_settings()
application = get_asgi_application()
