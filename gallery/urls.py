from django.urls import path

from gallery import views

urlpatterns = [
    path("", views.scroller_page, name="scroller"),
    path("api/images/", views.images_collection, name="api-images"),
    path("api/images/lookup/", views.images_lookup, name="api-images-lookup"),
    path("api/images/restore/", views.images_restore, name="api-images-restore"),
    path("api/images/<int:image_id>/", views.image_detail, name="api-image"),
    path("api/images/<int:image_id>/restore/", views.image_restore, name="api-image-restore"),
    path("api/images/<int:image_id>/thumbnail", views.image_thumbnail, name="api-image-thumbnail"),
    path("api/images/<int:image_id>/original", views.image_original, name="api-image-original"),
    path("api/images/<int:image_id>/display", views.image_display, name="api-image-display"),
    path("api/images/<int:image_id>/mosaic", views.image_mosaic, name="api-image-mosaic"),
    path("api/images/<int:image_id>/similar", views.image_similar, name="api-image-similar"),
    path("images/<int:image_id>/", views.image_page, name="image-page"),
]
