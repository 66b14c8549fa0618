"""The HTTP API and the scroller page. Views parse and answer; the work is in ingest, services and selectors."""

import json
from collections.abc import AsyncIterator, Callable, Coroutine
from functools import wraps
from pathlib import Path
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import content_disposition_header, urlencode
from django.views.decorators.csrf import csrf_exempt, ensure_csrf_cookie

from accounts.authentication import AuthenticationFailed, authenticate_api_request
from gallery import ingest, selectors, services
from gallery.models import Image, Visibility
from gallery.mosaic import services as mosaic
from gallery.page import rendition
from gallery.page.presenters import page_context
from gallery.palette_search.query import PaletteQueryError, parse_colors
from gallery.palette_search.selectors import Cursor, search_by_palette
from gallery.purged import selectors as purged_selectors
from gallery.search import selectors as search_selectors
from gallery.serializers import card_to_dict, image_to_dict, image_url
from gallery.similar.selectors import SimilarImage, similar_images
from gallery.storage import originals
from gallery.uploading.handlers import HashedUploadedFile
from scroller import ratelimits
from scroller.routing import SCROLLER_WEBSOCKET_PATH

XZ_MEDIA_TYPE = "application/x-xz"
ORIGINAL_MEDIA_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}

MAX_IDS_PER_RESTORE = 1000
DEFAULT_SIMILAR, MAX_SIMILAR = 12, 100

ApiView = Callable[..., Coroutine[Any, Any, HttpResponseBase]]
TOKEN_FAILURES = "failed authentications from this address"


class BadRequest(Exception):
    """A request the API cannot act on; the message says why."""


def error(message: str, *, status: int) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def api(*, methods: tuple[str, ...]) -> Callable[[ApiView], ApiView]:
    """Authenticates (token, OAuth bearer or session with CSRF) and turns the domain's refusals into JSON errors."""

    def decorate(view: ApiView) -> ApiView:
        @csrf_exempt
        @wraps(view)
        async def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if request.method not in methods:
                response = error(f"method {request.method} not allowed", status=405)
                response["Allow"] = ", ".join(methods)
                return response
            if refusal := await token_failures_exceeded(request):
                return refusal.response()
            try:
                await authenticate_api_request(request)
                return await view(request, *args, **kwargs)
            except AuthenticationFailed as failure:
                await count_token_failure(request)
                return error(str(failure), status=401)
            except Image.DoesNotExist:
                return error("no such image", status=404)
            except PermissionDenied as refusal:
                return error(str(refusal) or "not allowed", status=403)
            except BadRequest as problem:
                return error(str(problem), status=400)

        return wrapper

    return decorate


async def token_failures_exceeded(request: HttpRequest) -> ratelimits.Exceeded | None:
    """A client that failed to authenticate too often may not try again until its window ends."""
    if "Authorization" not in request.headers:
        return None
    who = f"ip:{ratelimits.client_address(request)}"
    return await sync_to_async(ratelimits.already_exceeded)("token_failures", who=who, what=TOKEN_FAILURES)


async def count_token_failure(request: HttpRequest) -> None:
    if "Authorization" in request.headers:
        who = f"ip:{ratelimits.client_address(request)}"
        await sync_to_async(ratelimits.count)("token_failures", who=who, what=TOKEN_FAILURES)


def require_login(request: HttpRequest) -> User:
    """The signed-in user the request acts as, or AuthenticationFailed."""
    user = request.user
    if not user.is_authenticated:
        raise AuthenticationFailed("authentication required: log in or send 'Authorization: Token <key>'")
    return user


def int_param(request: HttpRequest, name: str, *, low: int, high: int) -> int | None:
    raw = request.GET.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be a whole number") from None
    if not low <= value <= high:
        raise BadRequest(f"{name} must be between {low} and {high}")
    return value


def checked_visibility(value: object) -> str:
    if value not in Visibility.values:
        raise BadRequest("visibility must be 'public' or 'private'")
    return value


def checked_description(value: object) -> str:
    if not isinstance(value, str):
        raise BadRequest("description must be a string")
    limit = services.MAX_DESCRIPTION_LENGTH
    if len(value) > limit:
        raise BadRequest(f"description is {len(value):,} characters, over the limit of {limit:,}")
    return value


@api(methods=("GET", "POST"))
async def images_collection(request: HttpRequest) -> JsonResponse:
    if request.method == "POST":
        return await upload_images(request)
    return await list_images(request)


async def upload_images(request: HttpRequest) -> JsonResponse:
    owner = require_login(request)
    if exceeded := await sync_to_async(ratelimits.count)(
        "uploads", who=f"user:{owner.pk}", what="upload requests from this account"
    ):
        return exceeded.response()
    files = await sync_to_async(lambda: request.FILES.getlist("file"), thread_sensitive=False)()
    if not files:
        raise BadRequest("no files: send one or more multipart fields named 'file'")
    visibility = checked_visibility(request.POST.get("visibility") or settings.SCROLLER_DEFAULT_VISIBILITY)
    description = checked_description(request.POST.get("description", ""))
    uploads = [received_upload(file) for file in files]
    results = await ingest.ingest_async(
        owner=owner,
        uploads=uploads,
        visibility=visibility,
        description=description,
        restore_deleted=wants_deleted_restored(request),
    )
    return JsonResponse({"results": [result.as_dict() for result in results]})


def wants_deleted_restored(request: HttpRequest) -> bool:
    """Bytes the uploader deleted stay deleted unless the upload says `restore_deleted=1`."""
    return request.POST.get("restore_deleted") in {"1", "true"}


def received_upload(file: UploadedFile) -> ingest.Upload:
    """The upload handler already wrote the file to disk and hashed it; workers and storage read it from there."""
    if not isinstance(file, HashedUploadedFile):
        raise TypeError("FILE_UPLOAD_HANDLERS must be gallery.uploading.handlers.HashingUploadHandler")
    return ingest.receive_file(
        filename=file.name or "", size=file.size or 0, path=Path(file.temporary_file_path()), sha256=file.sha256
    )


async def list_images(request: HttpRequest) -> JsonResponse:
    viewer = request.user
    owner_only = request.GET.get("owner") == "me"
    if owner_only:
        require_login(request)
    limit = int_param(request, "limit", low=1, high=selectors.MAX_PAGE_SIZE) or selectors.DEFAULT_PAGE_SIZE
    if "colors" in request.GET:
        return await list_images_by_palette(request, owner_only=owner_only, limit=limit)
    if "q" in request.GET:
        return await search_images(request, owner_only=owner_only, limit=limit)
    images = await sync_to_async(selectors.list_images)(
        viewer=viewer,
        hue=int_param(request, "hue", low=0, high=359),
        owner_only=owner_only,
        include_deleted=request.GET.get("include_deleted") in {"1", "true"},
        before=int_param(request, "before", low=1, high=2**63 - 1),
        limit=limit,
    )
    return JsonResponse(
        {
            "results": [image_to_dict(image, viewer=viewer, detail=True) for image in images],
            "next": next_page_url(request, images=images, limit=limit),
        }
    )


async def list_images_by_palette(request: HttpRequest, *, owner_only: bool, limit: int) -> JsonResponse:
    """Best match first; each result carries its `palette_score` (0–1); `next` continues after the last.

    With `q`, only the images that text search finds for it, still ranked by their palettes.
    """
    try:
        asked = parse_colors(request.GET["colors"])
    except PaletteQueryError as problem:
        raise BadRequest(str(problem)) from None
    if request.GET.get("before"):
        raise BadRequest("before pages the newest-first listing; with colors, follow next (after=score:id)")
    text = request.GET.get("q")
    if text is not None and (not text.strip() or len(text) > MAX_QUERY_LENGTH):
        raise BadRequest(f"q must contain a word to search for, in at most {MAX_QUERY_LENGTH} characters")
    found = await sync_to_async(search_by_palette)(
        viewer=request.user,
        asked=asked,
        hue=int_param(request, "hue", low=0, high=359),
        text=text,
        owner_only=owner_only,
        include_deleted=request.GET.get("include_deleted") in {"1", "true"},
        after=palette_cursor(request.GET.get("after")),
        limit=limit,
    )
    query = request.GET.copy()
    if len(found) == limit:
        query["after"] = f"{found[-1][1]}:{found[-1][0].card.id}"
    return JsonResponse(
        {
            "results": [
                card_to_dict(listed.card, viewer=request.user) | listed.detail | {"palette_score": image_score}
                for listed, image_score in found
            ],
            "next": f"{reverse('api-images')}?{urlencode(query, doseq=True)}" if len(found) == limit else None,
        }
    )


def palette_cursor(raw: str | None) -> Cursor | None:
    if not raw:
        return None
    score_text, _, id_text = raw.partition(":")
    try:
        return float(score_text), int(id_text)
    except ValueError:
        raise BadRequest("after must be score:id, as the next link gives it") from None


MAX_QUERY_LENGTH = 200


async def search_images(request: HttpRequest, *, owner_only: bool, limit: int) -> JsonResponse:
    """?q=TEXT: best match first, each with its score; paged by `after` (the `next` URL carries it)."""
    text = request.GET["q"]
    if not text.strip():
        raise BadRequest("q must contain a word to search for")
    if len(text) > MAX_QUERY_LENGTH:
        raise BadRequest(f"q must be at most {MAX_QUERY_LENGTH} characters")
    for unsupported in ("before", "include_deleted"):
        if unsupported in request.GET:
            raise BadRequest(f"{unsupported} does not combine with q: search pages go on with 'after'")
    after = None
    if request.GET.get("after"):
        try:
            after = search_selectors.SearchCursor.decode(request.GET["after"])
        except ValueError:
            raise BadRequest("after must be the value a previous page's 'next' carries") from None
    found, next_cursor = await sync_to_async(search_selectors.search_images)(
        viewer=request.user,
        text=text,
        hue=int_param(request, "hue", low=0, high=359),
        owner_only=owner_only,
        after=after,
        limit=limit,
    )
    next_url = None
    if next_cursor is not None:
        query = request.GET.copy()
        query["after"] = next_cursor.encode()
        next_url = f"{reverse('api-images')}?{urlencode(query, doseq=True)}"
    results = [
        {**card_to_dict(item.listed.card, viewer=request.user), **item.listed.detail, "score": item.score}
        for item in found
    ]
    return JsonResponse({"results": results, "next": next_url})


def next_page_url(request: HttpRequest, *, images: list[Image], limit: int) -> str | None:
    if len(images) < limit:
        return None
    query = request.GET.copy()
    query["before"] = str(images[-1].pk)
    return f"{reverse('api-images')}?{urlencode(query, doseq=True)}"


@api(methods=("GET", "DELETE", "PATCH"))
async def image_detail(request: HttpRequest, image_id: int) -> JsonResponse:
    viewer = request.user
    if request.method == "DELETE":
        actor = require_login(request)
        await sync_to_async(services.soft_delete_image)(actor=actor, image_id=image_id)
        image = await sync_to_async(selectors.get_owned_image)(viewer=actor, image_id=image_id)
    elif request.method == "PATCH":
        actor = require_login(request)
        await sync_to_async(change_image)(actor=actor, image_id=image_id, changes=json_body(request))
        image = await sync_to_async(selectors.get_owned_image)(viewer=actor, image_id=image_id)
    else:
        image = await sync_to_async(selectors.get_visible_image)(viewer=viewer, image_id=image_id)
    return JsonResponse(image_to_dict(image, viewer=viewer, detail=True))


def change_image(*, actor: User, image_id: int, changes: dict) -> None:
    """A PATCH: every field is checked before any is written."""
    if not {"visibility", "description"} & changes.keys():
        raise BadRequest("send visibility and/or description")
    visibility = checked_visibility(changes["visibility"]) if "visibility" in changes else None
    description = checked_description(changes["description"]) if "description" in changes else None
    if visibility is not None:
        services.set_visibility(actor=actor, image_id=image_id, visibility=visibility)
    if description is not None:
        services.set_description(actor=actor, image_id=image_id, description=description)


@api(methods=("POST",))
async def image_restore(request: HttpRequest, image_id: int) -> JsonResponse:
    actor = require_login(request)
    await sync_to_async(services.restore_image)(actor=actor, image_id=image_id)
    image = await sync_to_async(selectors.get_owned_image)(viewer=actor, image_id=image_id)
    return JsonResponse(image_to_dict(image, viewer=actor, detail=True))


@api(methods=("GET",))
async def image_thumbnail(request: HttpRequest, image_id: int) -> HttpResponse:
    image = await sync_to_async(selectors.get_visible_image)(
        viewer=request.user, image_id=image_id, with_thumbnail=True
    )
    response = HttpResponse(bytes(image.thumbnail), content_type=XZ_MEDIA_TYPE)
    response["Cache-Control"] = "private, max-age=86400"
    return response


@api(methods=("GET",))
async def image_original(request: HttpRequest, image_id: int) -> HttpResponseBase:
    image = await sync_to_async(selectors.get_visible_image)(viewer=request.user, image_id=image_id)
    content_type = ORIGINAL_MEDIA_TYPES[image.format]
    stored_name = str(image.original)
    try:
        if settings.SCROLLER_S3_DOWNLOADS == "redirect" and (
            url := originals.presigned_url(
                name=stored_name, download_name=image.original_name, content_type=content_type
            )
        ):
            return HttpResponseRedirect(url)
        file = await sync_to_async(originals.open_for_reading, thread_sensitive=False)(name=stored_name)
    except originals.StorageUnavailable:
        return error(ingest.STORAGE_UNAVAILABLE, status=503)
    response = StreamingHttpResponse(read_in_chunks(file), content_type=content_type)
    response["Content-Length"] = str(image.byte_size)
    response["Content-Disposition"] = (
        content_disposition_header(as_attachment=False, filename=image.original_name) or "inline"
    )
    # An upload may also be valid HTML or script (a polyglot): with its exact image type, nosniff
    # (SecurityMiddleware) and a sandbox, a browser shows it as an image or not at all.
    response["Content-Security-Policy"] = "sandbox"
    return response


async def read_in_chunks(file: originals.Readable, *, chunk_size: int = 256 * 1024) -> AsyncIterator[bytes]:
    """Async so that Daphne streams the file instead of Django reading it whole into memory first."""
    try:
        while chunk := await sync_to_async(file.read, thread_sensitive=False)(chunk_size):
            yield chunk
    finally:
        await sync_to_async(file.close, thread_sensitive=False)()


@api(methods=("POST",))
async def images_lookup(request: HttpRequest) -> JsonResponse:
    """Which of these content hashes the caller already holds, so a client can skip sending their bytes."""
    owner = require_login(request)
    hashes = json_body(request).get("sha256")
    if not isinstance(hashes, list) or not all(isinstance(value, str) and len(value) == 64 for value in hashes):
        raise BadRequest('send {"sha256": [...]} with hex SHA-256 digests')
    if len(hashes) > 1000:
        raise BadRequest("at most 1000 hashes per lookup")
    digests = [value.lower() for value in hashes]
    known = await sync_to_async(selectors.find_by_hashes)(owner=owner, hashes=digests)
    purged = await sync_to_async(purged_selectors.purged_hashes)(owner=owner, hashes=set(digests) - known.keys())
    return JsonResponse(
        {
            "images": {digest: {"id": image.pk, "deleted": image.is_deleted} for digest, image in known.items()},
            "purged": sorted(purged),
        }
    )


@api(methods=("POST",))
async def images_restore(request: HttpRequest) -> JsonResponse:
    """Undo the deletion of many images in one request: what the upload page's "restore these" sends."""
    actor = require_login(request)
    ids = json_body(request).get("ids")
    if not isinstance(ids, list) or not all(type(value) is int and value > 0 for value in ids):
        raise BadRequest('send {"ids": [...]} with image ids')
    if len(ids) > MAX_IDS_PER_RESTORE:
        raise BadRequest(f"at most {MAX_IDS_PER_RESTORE} ids per restore")
    restored = await sync_to_async(services.restore_images)(actor=actor, image_ids=ids)
    return JsonResponse({"restored": restored, "not_found": sorted(set(ids) - set(restored))})


@api(methods=("GET",))
async def image_display(request: HttpRequest, image_id: int) -> HttpResponse:
    """The display rendition (gallery.page.rendition): what the image page shows instead of the original."""
    image = await sync_to_async(selectors.get_page_image)(viewer=request.user, image_id=image_id)
    data = await sync_to_async(rendition.display_rendition, thread_sensitive=False)(image)
    response = HttpResponse(data, content_type=rendition.MEDIA_TYPE)
    response["Cache-Control"] = "private, max-age=86400"
    return response


@api(methods=("GET",))
async def image_mosaic(request: HttpRequest, image_id: int) -> HttpResponse:
    columns = int_param(request, "cells", low=mosaic.MIN_COLUMNS, high=mosaic.MAX_COLUMNS) or mosaic.DEFAULT_COLUMNS
    cell_px = int_param(request, "cell_px", low=mosaic.MIN_CELL_PX, high=mosaic.MAX_CELL_PX) or mosaic.DEFAULT_CELL_PX
    image = await sync_to_async(selectors.get_visible_image)(
        viewer=request.user, image_id=image_id, with_thumbnail=True
    )
    try:
        made = await sync_to_async(mosaic.get_mosaic)(
            viewer=request.user, image=image, columns=columns, cell_px=cell_px
        )
    except mosaic.MosaicUnavailable as unavailable:
        return error(str(unavailable), status=409)
    response = HttpResponse(made.jpeg, content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=300"
    response["X-Mosaic-Cells"] = str(made.cells)
    response["X-Mosaic-Tiles-Available"] = str(made.tiles_available)
    response["X-Mosaic-Tiles-Used"] = str(len(made.tile_ids))
    return response


@api(methods=("GET",))
async def image_similar(request: HttpRequest, image_id: int) -> JsonResponse:
    limit = int_param(request, "limit", low=1, high=MAX_SIMILAR) or DEFAULT_SIMILAR
    viewer = request.user
    image = await sync_to_async(selectors.get_visible_image)(viewer=viewer, image_id=image_id)
    found = await sync_to_async(similar_images)(viewer=viewer, image=image, limit=limit)
    return JsonResponse({"results": [similar_to_dict(item, viewer=viewer) for item in found]})


def similar_to_dict(item: SimilarImage, *, viewer) -> dict:
    return image_to_dict(item.image, viewer=viewer) | {
        "near_duplicate": item.near_duplicate,
        "distance": round(item.distance, 4),
        "page_url": reverse("image-page", args=[item.image.pk]),
    }


def json_body(request: HttpRequest) -> dict:
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BadRequest("the body must be JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body


@ensure_csrf_cookie
def scroller_page(request: HttpRequest) -> HttpResponse:
    return render(request, "gallery/scroller.html", {"websocket_path": SCROLLER_WEBSOCKET_PATH})


@ensure_csrf_cookie
def image_page(request: HttpRequest, image_id: int) -> HttpResponse:
    """One image: its picture, facts, colours, labels, description, mosaic and "more like this"."""
    try:
        image = selectors.get_page_image(viewer=request.user, image_id=image_id)
    except Image.DoesNotExist:
        raise Http404("no such image") from None
    context = page_context(image=image, viewer=request.user) | {
        "mosaic_tiles": mosaic.tiles_available(viewer=request.user, image_id=image.pk),
        "mosaic_cells": mosaic.DEFAULT_COLUMNS * mosaic.default_rows(image),
        "page_url": request.build_absolute_uri(),
        "display_absolute_url": request.build_absolute_uri(image_url("api-image-display", image_id=image.pk)),
        "websocket_path": SCROLLER_WEBSOCKET_PATH,
    }
    return render(request, "gallery/image.html", context)
