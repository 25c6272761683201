from django.shortcuts import render

from . import catalog


def lesson_index(request):
    return render(request, "lessons/index.html", {"lessons": catalog.lesson_list()})
