package petascope.exceptions;

public class ExceptionCode {
    public static final ExceptionCode InvalidRequest = new ExceptionCode("InvalidRequest");
    private final String name;

    public ExceptionCode(String name) { this.name = name; }

    public String getExceptionCodeName() { return name; }
}
