"""One API-style view that answers with whoever `authenticate_api_request` says is calling."""

from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from accounts.authentication import AuthenticationFailed, authenticate_api_request


@csrf_exempt
async def whoami(request: HttpRequest) -> JsonResponse:
    try:
        user = await authenticate_api_request(request)
    except AuthenticationFailed as failure:
        return JsonResponse({"error": failure.message}, status=401)
    return JsonResponse({"username": user.get_username() if user.is_authenticated else None})


urlpatterns = [path("probe/whoami/", whoami)]
