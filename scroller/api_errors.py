"""Every response under /api/ is JSON, errors included: {"error": "<what went wrong>"}.

The API's views answer their own refusals; this middleware covers what happens around them:
requests Django refuses while parsing them (too many files or fields, a field too large, a
multipart body without a boundary, a body over SCROLLER_MAX_REQUEST_BYTES), URLs that match no
view (404), and anything that fails unexpectedly (500, logged with its traceback).
"""

import logging
from http import HTTPStatus

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.utils.deprecation import MiddlewareMixin

from gallery.uploading.handlers import RequestTooLarge

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"
JSON_MEDIA_TYPE = "application/json"


def refusal_of_request(exception: Exception) -> JsonResponse | None:
    """The JSON answer to a request Django could not parse, or None for any other failure."""
    if isinstance(exception, RequestTooLarge):
        return JsonResponse({"error": str(exception)}, status=413)
    if isinstance(exception, TooManyFilesSent):
        message = f"too many files: at most {settings.DATA_UPLOAD_MAX_NUMBER_FILES} per request"
        return JsonResponse({"error": message}, status=400)
    if isinstance(exception, TooManyFieldsSent):
        message = f"too many form fields: at most {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} per request"
        return JsonResponse({"error": message}, status=400)
    if isinstance(exception, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE / 1_000_000
        message = f"the form fields other than files are over the limit of {limit:.1f} MB"
        return JsonResponse({"error": message}, status=413)
    if isinstance(exception, MultiPartParserError):
        return JsonResponse({"error": f"malformed multipart body: {exception}"}, status=400)
    return None


class ApiJsonErrorsMiddleware(MiddlewareMixin):
    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not request.path.startswith(API_PREFIX):
            return None
        if refusal := refusal_of_request(exception):
            return refusal
        logger.error("unexpected failure answering %s %s", request.method, request.path, exc_info=exception)
        return JsonResponse({"error": "internal server error: the failure was logged"}, status=500)

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if (
            request.path.startswith(API_PREFIX)
            and response.status_code >= 400
            and not response.get("Content-Type", "").startswith(JSON_MEDIA_TYPE)
        ):
            return json_error_for(response)
        return response


def json_error_for(response: HttpResponse) -> JsonResponse:
    """A JSON body for an error Django answered as a page; headers that say how to retry (Allow, Retry-After) are kept."""
    status = HTTPStatus(response.status_code)
    answer = JsonResponse({"error": status.phrase.lower()}, status=status)
    for header in ("Allow", "Retry-After", "WWW-Authenticate"):
        if header in response:
            answer[header] = response[header]
    return answer
