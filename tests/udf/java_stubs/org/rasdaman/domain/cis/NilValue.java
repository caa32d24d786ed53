package org.rasdaman.domain.cis;

public class NilValue {
    private final String value;
    private final String reason;

    public NilValue(String value, String reason) {
        this.value = value;
        this.reason = reason;
    }

    public String getValue() { return value; }

    public String getReason() { return reason; }
}
