"""Notices API: the unread summary polled by every page's header (ETag, 304 while nothing changed), the list, and
marking read. Everyone signed in may call them; each sees only their own notices and their desk's."""

import json

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from gridmgmt.api import JSON_PARSERS, validated
from gridmgmt.conditional import conditional_response
from notices import selectors, services

PAGE_SIZE = 30


class NoticeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    kind_label = serializers.CharField()
    text = serializers.CharField()
    case = serializers.CharField(allow_null=True)
    link = serializers.CharField()
    created_at = serializers.DateTimeField()
    read = serializers.BooleanField()


SUMMARY = inline_serializer(
    "NoticeSummary", {"unread": serializers.IntegerField(), "latest": NoticeSerializer(many=True)}
)
PAGE = inline_serializer(
    "NoticePage",
    {
        "count": serializers.IntegerField(),
        "unread": serializers.IntegerField(),
        "page": serializers.IntegerField(),
        "pages": serializers.IntegerField(),
        "results": NoticeSerializer(many=True),
    },
)


MARKED = inline_serializer("NoticesMarked", {"marked": serializers.IntegerField()})


class NoticeQuerySerializer(serializers.Serializer):
    unread = serializers.BooleanField(required=False, default=False, help_text="only unread notices")
    page = serializers.IntegerField(required=False, default=1, min_value=1, max_value=100000)


def summary_response(request):
    unread, etag = selectors.summary_tag(request.user)

    def body() -> str:
        latest = [selectors.as_json(notice) for notice in selectors.latest(request.user)]
        return json.dumps({"unread": unread, "latest": latest}, ensure_ascii=False)

    response = conditional_response(
        request,
        etag=etag,
        body=body,
        content_type="application/json",
        headers={"Cache-Control": "private, no-cache", "Vary": "Cookie, Authorization, Accept-Language"},
    )
    return response


SUMMARY_SCHEMA = extend_schema(
    parameters=[OpenApiParameter("If-None-Match", str, OpenApiParameter.HEADER, required=False)],
    responses={200: SUMMARY, 304: OpenApiResponse(description="nothing changed since the ETag sent")},
)


class NoticeSummaryView(APIView):
    """Unread count and the latest unread notices; poll with If-None-Match (304 while nothing changed)."""

    @SUMMARY_SCHEMA
    def get(self, request):
        return summary_response(request)


class MobileNoticeSummaryView(NoticeSummaryView):
    """The same summary for the handheld's badge."""


class NoticeListView(APIView):
    """The user's notices and their desk's, newest first, 30 a page; `unread=true` for the unread only."""

    @extend_schema(parameters=[NoticeQuerySerializer], responses={200: PAGE})
    def get(self, request):
        query = validated(NoticeQuerySerializer, request.query_params)
        notices = selectors.notices_for(request.user)
        unread = notices.filter(read_at__isnull=True).count()
        if query["unread"]:
            notices = notices.filter(read_at__isnull=True)
        count = notices.count()
        start = (query["page"] - 1) * PAGE_SIZE
        page = notices.order_by("-id")[start : start + PAGE_SIZE]
        return Response(
            {
                "count": count,
                "unread": unread,
                "page": query["page"],
                "pages": max(1, -(-count // PAGE_SIZE)),
                "results": [selectors.as_json(notice) for notice in page],
            }
        )


class NoticeReadView(APIView):
    """Mark one notice read (a desk's notice for the whole desk). Another's notice is 404."""

    parser_classes = JSON_PARSERS

    @extend_schema(request=None, responses={200: NoticeSerializer})
    def post(self, request, pk: int):
        notice = services.mark_read(user=request.user, notice_id=pk)
        if notice is None:
            raise Http404
        return Response(selectors.as_json(notice))


class NoticeReadAllView(APIView):
    """Mark all of the user's (and their desk's) notices read."""

    parser_classes = JSON_PARSERS

    @extend_schema(request=None, responses={200: MARKED})
    def post(self, request):
        return Response({"marked": services.mark_all_read(user=request.user)})
