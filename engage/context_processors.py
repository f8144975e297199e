from .roles import is_administrator


def layout(request):
    return {"is_administrator": is_administrator(request.user)}
