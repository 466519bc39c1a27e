from django.urls import path

from scoring import views

urlpatterns = [
    path("manage/models/", views.models_page, name="manage-models"),
    path("manage/models/<id:pk>/<str:action>/", views.change_status, name="manage-model-status"),
    path("benchmarks/", views.benchmarks_page, name="benchmarks"),
]
